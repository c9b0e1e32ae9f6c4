"""The ledger's public types: what other domains name when they post or read balances
(pure: no SQLAlchemy; backend.ledger.models stores these values)."""

from __future__ import annotations


class AccountKind:
    """Kinds of account. Member accounts have owner_key = member id; supplier accounts
    owner_key = −supplier id (negative, so they never share an owner with a member);
    the others 0."""

    MEMBER_FROZEN = "member_frozen"  # rewards earned, waiting for the after-sales window
    MEMBER_AVAILABLE = "member_available"  # withdrawable rewards (may go negative on reversals)
    MEMBER_STORED = "member_stored"  # stored value from recharges and transfers (spendable)
    MERCHANT = "merchant"  # the brand's own share: sales in, rewards and bonuses out
    FEE_INCOME = "fee_income"  # fees charged to members (withdrawal fees), kept by the brand
    PLATFORM_FEES = "platform_fees"  # the platform's commission on the brand's sales
    PAYOUT_TRANSIT = "payout_transit"  # withdrawals approved or being paid out by WeChat Pay
    WECHAT_CLEARING = "wechat_clearing"  # money through WeChat Pay: negative = came in
    SUPPLIER_FROZEN = "supplier_frozen"  # a supplier's income, waiting for the after-sales window
    SUPPLIER_AVAILABLE = "supplier_available"  # a supplier's withdrawable income (may go negative)
    SHARING_TRANSIT = "sharing_transit"  # profit shares (分账) requested, not yet confirmed by WeChat Pay
    OFFLINE_CLEARING = "offline_clearing"  # money paid outside WeChat Pay (manual bank transfers)

    MEMBER = (MEMBER_FROZEN, MEMBER_AVAILABLE, MEMBER_STORED)
    SUPPLIER = (SUPPLIER_FROZEN, SUPPLIER_AVAILABLE)
    SYSTEM = (MERCHANT, FEE_INCOME, PLATFORM_FEES, PAYOUT_TRANSIT, WECHAT_CLEARING, SHARING_TRANSIT,
              OFFLINE_CLEARING)
    ALL = MEMBER + SUPPLIER + SYSTEM
