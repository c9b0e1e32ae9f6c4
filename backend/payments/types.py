"""Payments' public types: the answer of an H5 payment in the sandbox (stored nowhere;
the order's own status is orders' OrderStatus)."""

from __future__ import annotations

from enum import StrEnum


class SandboxPaymentStatus(StrEnum):
    """pay_in_sandbox's answer: the signed parameters go to the sandbox once the unit
    commits; the order turns paid when the sandbox's notification comes back."""

    SUBMITTED = "submitted"
