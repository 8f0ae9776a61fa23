from . import ebay_webhook
