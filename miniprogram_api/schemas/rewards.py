"""Reward plans, payouts, simulations and level changes as the API shows them."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from miniprogram_api.http import Out, Timestamp


class PlanVersionOut(Out):
    version: int
    name: str
    status: str
    created_by: str
    created_at: Timestamp
    activated_at: Timestamp | None


class PlanDocumentOut(PlanVersionOut):
    document: dict[str, Any] = Field(description="the plan document, see docs/plans.md")


class PlanCheckOut(Out):
    valid: bool
    plan: dict[str, Any] = Field(description="the plan in canonical form")


class PayoutFigures(Out):
    """What a payout is, recorded or simulated: its kind, base, rate, amount and why."""

    kind: str
    base: str
    base_fen: int
    rate: str | None
    nominal_fen: int
    amount_fen: int
    amount: str
    withheld: str | None
    level: int | None
    agent_level: str | None
    explanation: str


class PayoutOut(PayoutFigures):
    id: int
    source_type: str
    source_key: str
    order_id: int | None
    order_line_id: int | None
    beneficiary_id: int | None
    plan_version: int
    created_at: Timestamp


class SimulatedPayout(PayoutFigures):
    beneficiary: int | str | None
    plan_version: int | None


class SimulatedLine(Out):
    order_line_id: int | str | None
    paid_fen: int
    profit_fen: int
    pool_fen: int
    paid_out_fen: int
    merchant_fen: int
    payouts: list[SimulatedPayout]


class PlanName(Out):
    name: str
    version: int | None = None


class SimulationTotals(Out):
    by_member_fen: dict[str, int]
    paid_out_fen: int
    merchant_fen: int


class SimulationOut(Out):
    plan: PlanName
    order_lines: list[SimulatedLine] | None = None
    referral_bonuses: list[SimulatedPayout] | None = None
    team_performance: list[SimulatedPayout] | None = None
    totals: SimulationTotals


class ReplayPeriod(Out):
    start: Timestamp
    end: Timestamp


class ReplayMember(Out):
    member_id: int
    recorded_fen: int
    draft_fen: int
    difference_fen: int


class ReplayTotal(Out):
    recorded_fen: int
    draft_fen: int
    difference_fen: int
    merchant_recorded_fen: int
    merchant_draft_fen: int


class ReplayOut(Out):
    plan: PlanName
    period: ReplayPeriod
    order_lines: int
    members: list[ReplayMember]
    members_total: int
    total: ReplayTotal


class LevelChangeOut(Out):
    field: str
    from_: str | None = Field(alias="from")
    to: str | None
    source: str
    actor: str | None
    plan_version: int | None
    at: Timestamp


class MemberLevelOut(Out):
    member_id: int
    agent_level: str | None
    promoter_tier: str
    history: list[LevelChangeOut]
