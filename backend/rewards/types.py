"""Rewards' public types: the values of a reward plan version's status (stored as these
plain strings)."""

from __future__ import annotations

from enum import StrEnum


class PlanStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"  # the one version in force for new orders
    RETIRED = "retired"  # replaced by a newer version
