# isort: skip_file
# omni_backend first: other files of this addon extend it.
from . import omni_backend, omni_backend_kit, omni_backend_import_policy
from . import omni_binding, omni_event, omni_event_processor, omni_exception, omni_mapping, omni_webhook_rejection
from . import omni_backend_pause, omni_checkpoint, omni_event_outbox
from . import omni_api_key, omni_api_key_gateway, res_partner, sale_order
from . import omni_metric_minute
# The order importer: one model, its _name first, then its roles.
from . import omni_order_importer
from . import omni_importer_partners, omni_importer_products, omni_importer_taxes
from . import omni_importer_workflow, omni_importer_edits, omni_importer_refunds
# Governance (approvals, risk holds): settings, the records' states, the importer's gate.
from . import omni_governance_backend, omni_governance_approval, omni_governance_exception
from . import omni_importer_governance
from . import omni_importer_allocation
from . import omni_importer_exchanges
from . import omni_governance_neutralize
from . import omni_governance_rotation
from . import omni_event_retention
