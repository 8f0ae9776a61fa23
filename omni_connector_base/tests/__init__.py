from . import (
    test_access,
    test_api,
    test_concurrency,
    test_cron_budget,
    test_importer,
    test_importer_after_sale,
    test_importer_concurrency,
    test_importer_money,
    test_processor,
    test_webhook,
)
