"""Odoo-free core of payout reconciliation: settlement data, importers, matching.

Nothing here imports ``odoo``; the ``omni_reconciliation`` models call it. Money (ISO 4217
exponents, number formats) is base's ``canonical.money``. The Stripe client needs the
``stripe`` package, so it is imported on demand (``from .stripe_client import
fetch_settlement``), not from here; ``stripe_mapper`` is pure.
"""

from .matching import (
    BankMatch,
    Candidate,
    MatchResult,
    MatchStats,
    StatementLine,
    bank_match,
    match_lines,
)
from .posting import Entry, EntryLine, Part, build_entry, split_clearing, split_fee

try:
    from odoo.addons.omni_connector_base.canonical.settlement import (
        LINE_KINDS,
        BalanceCheck,
        SettlementData,
        SettlementLineData,
        check_balance,
        settlement_digest,
        totals_by_kind,
    )
except ImportError:  # pure-Python tests load the addons without Odoo
    from omni_connector_base.canonical.settlement import (
        LINE_KINDS,
        BalanceCheck,
        SettlementData,
        SettlementLineData,
        check_balance,
        settlement_digest,
        totals_by_kind,
    )

__all__ = [
    "LINE_KINDS",
    "BalanceCheck",
    "BankMatch",
    "Candidate",
    "Entry",
    "EntryLine",
    "MatchResult",
    "MatchStats",
    "Part",
    "SettlementData",
    "SettlementLineData",
    "StatementLine",
    "bank_match",
    "build_entry",
    "check_balance",
    "match_lines",
    "settlement_digest",
    "split_clearing",
    "split_fee",
    "totals_by_kind",
]
