from . import test_payouts, test_trace
