from . import test_access, test_concurrency, test_processor, test_webhook
