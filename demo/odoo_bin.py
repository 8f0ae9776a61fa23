"""Odoo's command line, as a script file: ``python3 demo/odoo_bin.py [odoo options]``.

The demo starts Odoo through this file rather than ``python3 -m odoo``: a prefork Odoo spawns its
websocket (gevent) process as ``sys.executable sys.argv[0] gevent ...``, and with ``-m odoo``
``sys.argv[0]`` is ``odoo/__main__.py``, whose relative import fails outside the package: the
gevent process then dies and is spawned again, over and over. (Odoo's own ``odoo-bin`` is these
same two lines; a pip-installed Odoo has no ``odoo-bin`` beside the package.)
"""

import odoo.cli

if __name__ == "__main__":
    odoo.cli.main()
