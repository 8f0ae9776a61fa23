"""Odoo-free core of payout reconciliation: settlement data, importers, matching.

Nothing here imports ``odoo``; the ``omni_reconciliation`` models call it. The
Stripe importer needs the ``stripe`` package, so it is imported on demand
(``from .stripe_import import fetch_settlement``), not from here.
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
from .money import from_minor, to_minor
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
    "from_minor",
    "match_lines",
    "settlement_digest",
    "split_clearing",
    "split_fee",
    "to_minor",
    "totals_by_kind",
]
