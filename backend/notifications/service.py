"""Notification verbs: enqueue change alerts (inside the caller's unit of work), member
preferences and subscribe credits, the tenant's notification settings.

Other domains call `enqueue_alert` (or one of the typed helpers below) in the same
unit of work as the change they report: the outbox row commits with the change or not
at all, and the delivery job sends it afterwards. A dedupe key makes enqueueing the
same fact twice (a replayed callback, a retried job) a no-op.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from backend import bulk
from backend.audit.service import record_audit
from backend.db import is_mysql
from backend.extensions import db
from backend.members.service import get_member, nicknames
from backend.notifications.errors import InvalidChannel, UnknownAlertKind
from backend.notifications.models import (
    ALERT_KINDS,
    CHANNEL_CHOICES,
    NotificationPreference,
    NotificationSettings,
    OutboxMessage,
)
from backend.notifications.types import OutboxStatus

MAX_KEY = 96

# ------------------------------------------------------------------ the outbox


def insert_outbox_rows(rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert outbox rows in one statement, skipping any whose (tenant, dedupe key)
    is already there (a concurrent twin waits for the first and then does nothing)."""
    if not rows:
        return
    table = OutboxMessage.__table__
    if is_mysql():
        bulk.insert_rows(table, rows, keep_existing=True)
    else:
        db.session.execute(sqlite_insert(table).on_conflict_do_nothing(index_elements=["tenant_id", "dedupe_key"]),
                           list(rows))


def _outbox_row(*, tenant_id: int, member_id: int, kind: str, payload: Mapping[str, Any],
                dedupe_key: str, priority: int, due: datetime, now: datetime) -> dict[str, Any]:
    if len(dedupe_key) > MAX_KEY:
        raise ValueError("dedupe_key too long")
    json.dumps(payload)  # fail here, in the caller's code, not in the delivery job
    return {"tenant_id": tenant_id, "member_id": member_id, "kind": kind, "dedupe_key": dedupe_key,
            "payload": dict(payload), "priority": priority, "status": OutboxStatus.PENDING, "channel": None,
            "attempts": 0, "next_attempt_at": due, "created_at": now}


def enqueue_alert(*, tenant_id: int, member_id: int, kind: str, data: Mapping[str, Any],
                  dedupe_key: str, now: datetime) -> None:
    """Queue a change alert to a member; sent only after the caller's unit of work commits,
    once per (tenant, dedupe_key). kind: team_member | commission | settlement | withdrawal | agent."""
    if kind not in ALERT_KINDS:
        raise UnknownAlertKind()
    insert_outbox_rows([_outbox_row(tenant_id=tenant_id, member_id=member_id, kind=kind, payload=data,
                                    dedupe_key=f"alert:{kind}:{dedupe_key}", priority=0, due=now,
                                    now=now)])


def enqueue_team_member_alert(*, tenant_id: int, member_id: int, now: datetime) -> None:
    """Tell the parent of a just-bound member that their team grew (call after binding)."""
    member = get_member(tenant_id=tenant_id, member_id=member_id)
    if member.parent_id is None:
        return
    enqueue_team_member_alerts(tenant_id=tenant_id, bound=[(member.id, member.parent_id)], now=now)


def enqueue_team_member_alerts(*, tenant_id: int, bound: Sequence[tuple[int, int]], now: datetime) -> None:
    """`enqueue_team_member_alert` for a batch of just-made (member, parent) bindings:
    the members' nicknames in one read, the alerts in one INSERT."""
    if not bound:
        return
    names = nicknames(tenant_id=tenant_id, member_ids=sorted({m for m, _ in bound}))
    insert_outbox_rows([_outbox_row(tenant_id=tenant_id, member_id=parent_id, kind="team_member",
                                    payload={"new_member_id": member_id, "nickname": names.get(member_id, ""),
                                             "level": 1},
                                    dedupe_key=f"alert:team_member:{member_id}:{parent_id}", priority=0, due=now,
                                    now=now)
                        for member_id, parent_id in bound])


class PayoutLike(Protocol):
    beneficiary_id: int | None
    amount_fen: int
    order_id: int | None
    kind: str


def enqueue_commission_alerts(*, tenant_id: int, payouts: Iterable[PayoutLike], now: datetime,
                              order_nos: Mapping[int, str] | None = None) -> int:
    """One alert per beneficiary and order for the payouts just recorded (rewards'
    Payout rows or anything shaped like them), naming the order by its number when
    order_nos has it; returns how many alerts were queued."""
    order_nos = order_nos or {}
    per: dict[tuple[int, int | None], int] = defaultdict(int)
    for p in payouts:
        if p.beneficiary_id is not None and p.amount_fen > 0:
            per[(p.beneficiary_id, p.order_id)] += p.amount_fen
    rows = [_outbox_row(tenant_id=tenant_id, member_id=member_id, kind="commission",
                        payload={"order_id": order_id, "order_no": order_nos.get(order_id or 0),
                                 "amount_fen": amount},
                        dedupe_key=f"alert:commission:{order_id}:{member_id}", priority=0, due=now,
                        now=now)
            for (member_id, order_id), amount in sorted(per.items(), key=lambda kv: kv[0][0])]
    insert_outbox_rows(rows)
    return len(rows)


def enqueue_settlement_alert(*, tenant_id: int, member_id: int, amount_fen: int, count: int,
                             settlement_key: str, now: datetime) -> None:
    """Commission became withdrawable (one alert per member and settlement run)."""
    enqueue_alert(tenant_id=tenant_id, member_id=member_id, kind="settlement",
                  data={"amount_fen": amount_fen, "count": count},
                  dedupe_key=f"{settlement_key}:{member_id}", now=now)


def enqueue_withdrawal_alert(*, tenant_id: int, member_id: int, withdrawal_id: int, amount_fen: int,
                             status: str, reason: str | None = None, now: datetime) -> None:
    """A withdrawal's outcome: status paid | rejected | failed (money returned)."""
    enqueue_alert(tenant_id=tenant_id, member_id=member_id, kind="withdrawal",
                  data={"withdrawal_id": withdrawal_id, "amount_fen": amount_fen, "status": status,
                        "reason": reason},
                  dedupe_key=f"{withdrawal_id}:{status}", now=now)


def list_outbox(*, tenant_id: int, member_id: int | None = None, limit: int = 50) -> list[OutboxMessage]:
    """Recent outbox rows of a tenant (optionally one member), newest first."""
    stmt = select(OutboxMessage).where(OutboxMessage.tenant_id == tenant_id)
    if member_id is not None:
        stmt = stmt.where(OutboxMessage.member_id == member_id)
    return list(db.session.scalars(stmt.order_by(OutboxMessage.id.desc()).limit(limit)))


def outbox_view(m: OutboxMessage) -> dict[str, Any]:
    return {"id": m.id, "member_id": m.member_id, "kind": m.kind, "status": m.status,
            "channel": m.channel, "attempts": m.attempts, "payload": m.payload,
            "sent_at": m.sent_at.isoformat() if m.sent_at else None, "last_error": m.last_error}


# ------------------------------------------------------------------ member preferences


def _preference(tenant_id: int, member_id: int, *, create: bool, now: datetime | None = None,
                lock: bool = False) -> NotificationPreference | None:
    stmt = select(NotificationPreference).where(NotificationPreference.tenant_id == tenant_id,
                                                NotificationPreference.member_id == member_id)
    if lock:
        stmt = stmt.with_for_update()
    pref = db.session.scalar(stmt)
    if pref is None and create:
        get_member(tenant_id=tenant_id, member_id=member_id)
        pref = NotificationPreference(tenant_id=tenant_id, member_id=member_id, daily_enabled=True,
                                      alerts_enabled=True, channel="auto", daily_credits=0,
                                      alert_credits=0, updated_at=now)
        db.session.add(pref)
        db.session.flush()
    return pref


def preference_view(pref: NotificationPreference | None) -> dict[str, Any]:
    if pref is None:
        return {"daily_enabled": True, "alerts_enabled": True, "channel": "auto",
                "daily_credits": 0, "alert_credits": 0}
    return {"daily_enabled": pref.daily_enabled, "alerts_enabled": pref.alerts_enabled,
            "channel": pref.channel, "daily_credits": pref.daily_credits,
            "alert_credits": pref.alert_credits}


def get_preferences(*, tenant_id: int, member_id: int) -> dict[str, Any]:
    """A member's notification choices (defaults when never set)."""
    return preference_view(_preference(tenant_id, member_id, create=False))


def set_preferences(*, tenant_id: int, member_id: int, now: datetime, daily_enabled: bool | None = None,
                    alerts_enabled: bool | None = None, channel: str | None = None) -> dict[str, Any]:
    """Opt in or out of daily summaries / alerts, or pick a channel (auto|bot|wecom|subscribe|none)."""
    if channel is not None and channel not in CHANNEL_CHOICES:
        raise InvalidChannel()
    pref = _preference(tenant_id, member_id, create=True, now=now, lock=True)
    assert pref is not None
    if daily_enabled is not None:
        pref.daily_enabled = daily_enabled
    if alerts_enabled is not None:
        pref.alerts_enabled = alerts_enabled
    if channel is not None:
        pref.channel = channel
    pref.updated_at = now
    return preference_view(pref)


def add_subscribe_credits(*, tenant_id: int, member_id: int, now: datetime, daily: int = 0,
                          alerts: int = 0) -> dict[str, Any]:
    """The member accepted subscribe-message requests in the mini-program (one credit each)."""
    if daily < 0 or alerts < 0:
        raise ValueError("credits are added, never taken, here")
    pref = _preference(tenant_id, member_id, create=True, now=now, lock=True)
    assert pref is not None
    pref.daily_credits = min(pref.daily_credits + daily, 1000)
    pref.alert_credits = min(pref.alert_credits + alerts, 1000)
    pref.updated_at = now
    return preference_view(pref)


# ------------------------------------------------------------------ tenant settings

SETTING_FIELDS = ("daily_enabled", "daily_template_id", "daily_template_fields", "alert_template_id",
                  "alert_template_fields", "robot_daily_report", "welcome_text", "room_welcome_text")


def get_settings(*, tenant_id: int) -> NotificationSettings:
    """The tenant's settings (an unsaved default row when never configured)."""
    row = db.session.scalar(select(NotificationSettings).where(NotificationSettings.tenant_id == tenant_id))
    if row is None:
        row = NotificationSettings(tenant_id=tenant_id, daily_enabled=True, robot_daily_report=False)
    return row


def settings_view(s: NotificationSettings) -> dict[str, Any]:
    return {name: getattr(s, name) for name in SETTING_FIELDS}


def update_settings(*, tenant_id: int, changes: Mapping[str, Any], actor: str,
                    now: datetime) -> NotificationSettings:
    """Change the tenant's notification settings (audited)."""
    unknown = set(changes) - set(SETTING_FIELDS)
    if unknown:
        raise ValueError(f"unknown settings: {sorted(unknown)}")
    for key in ("daily_template_fields", "alert_template_fields"):
        fields = changes.get(key)
        if fields is not None and not (isinstance(fields, dict) and all(
                isinstance(k, str) and v in ("title", "brief", "date", "amount", "balance")
                for k, v in fields.items())):
            raise ValueError(key)
    row = get_settings(tenant_id=tenant_id)
    before = settings_view(row)
    for key, value in changes.items():
        setattr(row, key, value)
    row.updated_at = now
    if row.id is None:
        db.session.add(row)
    db.session.flush()
    record_audit(tenant_id=tenant_id, actor=actor, action="notifications.settings",
                 target_type="notification_settings", target_id=row.id, before=before,
                 after=settings_view(row))
    return row


def outbox_backlog(*, now: datetime) -> tuple[int, float | None]:
    """(notifications due and still pending, seconds the oldest has waited): for the
    operator's metrics; an index range on (status, …, next_attempt_at)."""
    count, oldest = db.session.execute(
        select(func.count(), func.min(OutboxMessage.next_attempt_at))
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)).one()
    if not count:
        return 0, None
    return int(count), (now - oldest).total_seconds() if oldest is not None else None
