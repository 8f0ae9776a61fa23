"""Pure-Python tests: load the addons' plain-Python modules without Odoo.

Each addon folder is registered as a bare package (its ``__init__.py``, which
imports Odoo models, is not executed), so ``import omni_connector_base.canonical``
reaches only Odoo-free code. A test that imports ``odoo`` does not belong here.
"""

import sys
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

for addon_dir in sorted(REPO.glob("omni_*/")):
    name = addon_dir.name
    if name in sys.modules:
        continue
    package = types.ModuleType(name)
    package.__path__ = [str(addon_dir)]
    package.__package__ = name
    sys.modules[name] = package

FIXTURES = REPO / "tests" / "fixtures"
