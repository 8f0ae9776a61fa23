from . import omni_settlement_import_wizard
