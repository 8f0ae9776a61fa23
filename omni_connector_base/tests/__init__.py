from . import (
    test_access,
    test_api,
    test_concurrency,
    test_cron_budget,
    test_importer,
    test_importer_concurrency,
    test_log_masking,
    test_process_now_lock,
    test_processor,
    test_queue_visibility,
    test_rpc_access,
    test_webhook,
)
