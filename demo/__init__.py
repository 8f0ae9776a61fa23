"""The living demo: ``python3 -m demo`` (see ``demo/run.py`` and the README's first section).

Database, every addon, the channel simulators (``tests/simulators/serve.py``), one channel of
each kind configured against them (``demo/configure.py``, ``demo/channels/``), an Odoo server
and demo traffic (``demo/traffic.py``). Everything it creates is marked ``[DEMO]``.
"""
