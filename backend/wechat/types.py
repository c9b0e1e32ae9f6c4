"""WeChat's own vocabulary that our services compare against (pure). These are
WeChat Pay's spellings, not ours: a new value WeChat adds reaches us as an unknown
string, so compare against the members, never enumerate all of them to validate."""

from __future__ import annotations

from enum import StrEnum


class WxRefundStatus(StrEnum):
    """A refund at WeChat Pay (wechat.pay.Refund.status: refund_status or status)."""

    SUCCESS = "SUCCESS"
    PROCESSING = "PROCESSING"
    CLOSED = "CLOSED"
    ABNORMAL = "ABNORMAL"
    # Ours, spelled as WeChat's: WeChat Pay refused the refund request itself (an error
    # answer, so no refund exists there); stored in Refund.wechat_status like the others.
    REJECTED = "REJECTED"
