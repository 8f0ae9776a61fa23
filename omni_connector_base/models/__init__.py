# isort: skip_file
# omni_backend first: other files of this addon extend it.
from . import omni_backend, omni_backend_kit
from . import omni_binding, omni_event, omni_exception, omni_mapping, omni_webhook_rejection
from . import omni_backend_pause, omni_checkpoint, omni_event_outbox
from . import omni_api_key, omni_order_importer, res_partner, sale_order
