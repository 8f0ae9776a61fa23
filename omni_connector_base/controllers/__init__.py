from . import api, api_exchanges, webhook
