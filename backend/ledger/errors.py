from backend.errors import Conflict


class InsufficientBalance(Conflict):
    code = "insufficient_balance"
    message = "余额不足"


class UnbalancedPosting(ValueError):
    """A posting whose entries do not sum to zero: a bug in the caller, never client input."""
