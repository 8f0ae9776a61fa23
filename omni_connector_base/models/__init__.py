from . import omni_backend, omni_binding, omni_event, omni_exception, omni_webhook_rejection
