"""Delivering the outbox. An entry point, like a job: it owns its units of work,
because a message must be claimed (committed) before WeChat is called and marked sent
afterwards; no transaction is held open across a network call.

    deliver_due(now=…)                         the scheduler: routes new rows, sends
                                               WeCom app messages and subscribe messages
    deliver_bot_due(tenant_id=…, send=…, now=…) the bot process: personal-WeChat rows

Once: a row is claimed by a conditional UPDATE (status guard + a fresh claim token),
so two deliverers never send the same row; a replayed fact never made a second row
(unique dedupe key). A deliverer that dies after WeChat accepted a message but before
marking it leaves a claim whose lease expires: that row is sent again (at-least-once
across a crash, exactly once otherwise).

Rate limits: a fixed one-minute window per channel and tenant in Redis; rows over the
budget go back to the queue for the next window without counting as an attempt.
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import or_, select, update

from backend.db import is_mysql, rowcount, run_in_unit_of_work
from backend.errors import DomainError
from backend.extensions import db, get_redis
from backend.notifications.contacts import reach_of
from backend.notifications.messages import DaySummary, alert_text, china_day, subscribe_values, summary_text
from backend.notifications.models import NotificationPreference, OutboxMessage
from backend.notifications.routing import choose_route
from backend.notifications.service import get_settings
from backend.notifications.types import OutboxStatus
from backend.tenants.service import get_tenant
from backend.wechat.errors import SubscribeRefused
from backend.wechat.service import credentials, gateway

log = logging.getLogger(__name__)

DEFAULT_LIMITS = {"bot": 20, "wecom": 300, "subscribe": 600, "robot": 20}  # messages per minute per tenant
LEASE_SECONDS = 120
MAX_ATTEMPTS = 6
SUBSCRIBE_PAGE = "pages/index/index"


# ------------------------------------------------------------------ rate limits


def limits() -> dict[str, int]:
    return {**DEFAULT_LIMITS, **(current_app.config.get("NOTIFY_RATE_LIMITS") or {})}


def take_budget(*, channel: str, tenant_id: int, wanted: int, now: datetime) -> int:
    """How many of `wanted` sends the channel's window still allows (and reserve them)."""
    if wanted <= 0:
        return 0
    limit = limits().get(channel, 60)
    window = int(now.timestamp() // 60)
    key = f"siyu:notify:rl:{channel}:{tenant_id}:{window}"
    redis = get_redis()
    used = int(redis.incrby(key, wanted))
    if used == wanted:
        redis.expire(key, 120)
    granted = max(0, min(wanted, limit - (used - wanted)))
    if granted < wanted:  # give back what was not granted, so the count stays exact
        redis.decrby(key, wanted - granted)
    return granted


def next_window(now: datetime) -> datetime:
    return datetime.fromtimestamp((int(now.timestamp() // 60) + 1) * 60, tz=now.tzinfo)


# ------------------------------------------------------------------ claims


@dataclass(frozen=True)
class Claimed:
    id: int
    tenant_id: int
    member_id: int
    kind: str
    payload: Mapping[str, Any]
    channel: str | None
    attempts: int
    status_before: str


def recover_stale_claims(*, now: datetime) -> int:
    """Put rows whose deliverer died mid-send back in their queue (the lease expired)."""
    stale = (OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_until < now)
    free = {"claim_token": None, "claimed_until": None}
    bot = rowcount(db.session.execute(
        update(OutboxMessage).where(*stale, OutboxMessage.channel == "bot")
        .values(status=OutboxStatus.BOT_PENDING, **free).execution_options(synchronize_session=False)))
    server = rowcount(db.session.execute(
        update(OutboxMessage).where(*stale, or_(OutboxMessage.channel.is_(None), OutboxMessage.channel != "bot"))
        .values(status=OutboxStatus.PENDING, **free).execution_options(synchronize_session=False)))
    return int(bot) + int(server)


def _recover_stale_bot(tenant_id: int, now: datetime) -> int:
    return rowcount(db.session.execute(
        update(OutboxMessage).where(OutboxMessage.tenant_id == tenant_id, OutboxMessage.status == OutboxStatus.SENDING,
                                    OutboxMessage.channel == "bot", OutboxMessage.claimed_until < now)
        .values(status=OutboxStatus.BOT_PENDING, claim_token=None, claimed_until=None)
        .execution_options(synchronize_session=False)))


def claim(*, status: str, now: datetime, limit: int, tenant_id: int | None = None) -> list[Claimed]:
    """Claim up to `limit` due rows of a status (alerts first, then oldest due)."""
    token = secrets.token_hex(16)
    ids: list[int] = []
    for priority in (0, 1):
        if len(ids) >= limit:
            break
        stmt = select(OutboxMessage.id).where(OutboxMessage.status == status,
                                              OutboxMessage.priority == priority,
                                              OutboxMessage.next_attempt_at <= now)
        if tenant_id is not None:
            stmt = stmt.where(OutboxMessage.tenant_id == tenant_id)
        stmt = stmt.order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit - len(ids))
        if is_mysql():
            stmt = stmt.with_for_update(skip_locked=True)
        ids += list(db.session.scalars(stmt))
    if not ids:
        return []
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.status == status)
        .values(status=OutboxStatus.SENDING, claim_token=token, claimed_until=now + timedelta(seconds=LEASE_SECONDS),
                attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False))
    rows = db.session.execute(select(
        OutboxMessage.id, OutboxMessage.tenant_id, OutboxMessage.member_id, OutboxMessage.kind,
        OutboxMessage.payload, OutboxMessage.channel, OutboxMessage.attempts)
        .where(OutboxMessage.claim_token == token).order_by(OutboxMessage.id))
    return [Claimed(r.id, r.tenant_id, r.member_id, r.kind, r.payload, r.channel, r.attempts, status)
            for r in rows]


@dataclass
class Outcome:
    """What happened to each claimed row."""

    sent: dict[int, str] = field(default_factory=dict)  # id → channel it went through
    skipped: dict[int, str] = field(default_factory=dict)  # id → reason
    deferred: dict[int, datetime] = field(default_factory=dict)  # rate-limited: back at this time
    failed: dict[int, str] = field(default_factory=dict)  # id → error (retried with backoff)
    routed: dict[int, str] = field(default_factory=dict)  # id → channel handed to the bot


def _mark(ids: Sequence[int], token_status: str, values: dict[str, Any]) -> None:
    if ids:
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(list(ids)),
                                                       OutboxMessage.status == token_status)
                           .values(**values).execution_options(synchronize_session=False))


def finish(*, claimed: Sequence[Claimed], outcome: Outcome, now: datetime) -> None:
    """Record the outcome of a claimed batch (one unit of work)."""
    by_id = {c.id: c for c in claimed}
    for channel, ids in _group(outcome.sent).items():
        _mark(ids, "sending", {"status": OutboxStatus.SENT, "channel": channel, "sent_at": now, "claim_token": None,
                               "claimed_until": None, "last_error": None})
    for reason, ids in _group(outcome.skipped).items():
        _mark(ids, "sending", {"status": OutboxStatus.SKIPPED, "last_error": reason[:255], "claim_token": None,
                               "claimed_until": None})
    for row_id, channel in outcome.routed.items():
        _mark([row_id], "sending", {"status": OutboxStatus.BOT_PENDING, "channel": channel, "claim_token": None,
                                    "claimed_until": None, "attempts": by_id[row_id].attempts - 1})
    for row_id, when in outcome.deferred.items():
        c = by_id[row_id]
        _mark([row_id], "sending", {"status": c.status_before, "next_attempt_at": when, "claim_token": None,
                                    "claimed_until": None, "attempts": c.attempts - 1})
    for row_id, error in outcome.failed.items():
        c = by_id[row_id]
        give_up = c.attempts >= MAX_ATTEMPTS
        _mark([row_id], "sending", {
            "status": OutboxStatus.FAILED if give_up else c.status_before, "last_error": error[:255],
            "next_attempt_at": now + timedelta(seconds=min(3600, 30 * 2 ** c.attempts)),
            "claim_token": None, "claimed_until": None})


def _group(d: Mapping[int, str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for k, v in d.items():
        out[v].append(k)
    return out


# ------------------------------------------------------------------ rendering


def render_text(kind: str, payload: Mapping[str, Any], *, member_id: int, brand: str) -> str:
    """The chat text of an outbox row (bot and WeCom)."""
    if kind == "daily_summary":
        return summary_text(DaySummary.from_payload(member_id, payload), brand=brand)
    return alert_text(kind, payload, brand=brand)


# ------------------------------------------------------------------ the server-side deliverer


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    deferred: int = 0
    failed: int = 0
    to_bot: int = 0

    def add(self, o: Outcome, claimed: int) -> None:
        self.claimed += claimed
        self.sent += len(o.sent)
        self.skipped += len(o.skipped)
        self.deferred += len(o.deferred)
        self.failed += len(o.failed)
        self.to_bot += len(o.routed)


def _spend_credit(tenant_id: int, member_id: int, daily: bool) -> bool:
    column = NotificationPreference.daily_credits if daily else NotificationPreference.alert_credits
    return rowcount(db.session.execute(
        update(NotificationPreference).where(NotificationPreference.tenant_id == tenant_id,
                                             NotificationPreference.member_id == member_id, column > 0)
        .values({column: column - 1}).execution_options(synchronize_session=False))) == 1


def _refund_credit(tenant_id: int, member_id: int, daily: bool, *, zero: bool = False) -> None:
    column = NotificationPreference.daily_credits if daily else NotificationPreference.alert_credits
    db.session.execute(
        update(NotificationPreference).where(NotificationPreference.tenant_id == tenant_id,
                                             NotificationPreference.member_id == member_id)
        .values({column: 0 if zero else column + 1}).execution_options(synchronize_session=False))


class _TenantSender:
    """Sends one tenant's server-side rows (WeCom app messages, subscribe messages)."""

    def __init__(self, tenant_id: int, now: datetime) -> None:

        self.tenant_id = tenant_id
        self.now = now
        self.brand = get_tenant(tenant_id=tenant_id).name
        self.settings = get_settings(tenant_id=tenant_id)
        self.creds = credentials(tenant_id=tenant_id)
        self.gateway = gateway()

    def route(self, rows: Sequence[Claimed], outcome: Outcome) -> list[tuple[Claimed, str, Any]]:
        """Decide channels for rows not routed yet; returns (row, channel, reach) to send now."""
        reach = reach_of(tenant_id=self.tenant_id, member_ids=[c.member_id for c in rows])
        out = []
        for c in rows:
            r = reach.get(c.member_id)
            if r is None:
                outcome.skipped[c.id] = "member_gone"
                continue
            channel = c.channel
            if channel is None:
                route = choose_route(r, daily=c.kind == "daily_summary",
                                     daily_template=bool(self.settings.daily_template_id),
                                     alert_template=bool(self.settings.alert_template_id))
                if route.channel is None:
                    outcome.skipped[c.id] = route.reason
                    continue
                channel = route.channel
            if channel == "bot":
                outcome.routed[c.id] = "bot"
                continue
            out.append((c, channel, r))
        return out

    def send(self, c: Claimed, channel: str, reach: Any) -> str | None:
        """Send one row; returns a skip reason, or None when sent. Raises on failure."""
        text = render_text(c.kind, c.payload, member_id=c.member_id, brand=self.brand)
        if channel == "wecom":
            if reach.wecom_user is None or self.creds.wecom is None:
                return "no_channel"
            self.gateway.wecom(self.creds.wecom).send_app_text(user_ids=[reach.wecom_user], content=text)
            return None
        if channel == "subscribe":
            return self._send_subscribe(c, reach)
        return "no_channel"

    def _send_subscribe(self, c: Claimed, reach: Any) -> str | None:

        daily = c.kind == "daily_summary"
        template = self.settings.daily_template_id if daily else self.settings.alert_template_id
        if not template or self.creds.mini_program is None or not reach.openid:
            return "no_channel"
        if not run_in_unit_of_work(lambda: _spend_credit(self.tenant_id, c.member_id, daily)):
            return "no_consent"
        fields = self.settings.daily_template_fields if daily else self.settings.alert_template_fields
        data = subscribe_values(c.kind, c.payload, day=china_day(self.now), fields=fields,
                                member_id=c.member_id)
        try:
            self.gateway.mini_program(self.creds.mini_program).send_subscribe_message(
                openid=reach.openid, template_id=template, data=data, page=SUBSCRIBE_PAGE)
        except SubscribeRefused:
            run_in_unit_of_work(lambda: _refund_credit(self.tenant_id, c.member_id, daily, zero=True))
            return "subscribe_refused"
        except Exception:
            run_in_unit_of_work(lambda: _refund_credit(self.tenant_id, c.member_id, daily))
            raise
        return None


def _send_batch(rows: Sequence[Claimed], now: datetime) -> Outcome:
    outcome = Outcome()
    by_tenant: dict[int, list[Claimed]] = defaultdict(list)
    for c in rows:
        by_tenant[c.tenant_id].append(c)
    for tenant_id, tenant_rows in by_tenant.items():
        try:
            sender = _TenantSender(tenant_id, now)
            todo = sender.route(tenant_rows, outcome)
        except DomainError as exc:  # tenant gone or misconfigured: retry later
            for c in tenant_rows:
                outcome.failed[c.id] = exc.code
            continue
        per_channel: dict[str, list[tuple[Claimed, Any]]] = defaultdict(list)
        for c, channel, reach in todo:
            per_channel[channel].append((c, reach))
        for channel, items in per_channel.items():
            granted = take_budget(channel=channel, tenant_id=tenant_id, wanted=len(items), now=now)
            for c, _ in items[granted:]:
                outcome.deferred[c.id] = next_window(now)
            for c, reach in items[:granted]:
                try:
                    reason = sender.send(c, channel, reach)
                except DomainError as exc:
                    outcome.failed[c.id] = f"{exc.code}: {exc.message}"
                    continue
                except Exception as exc:  # noqa: BLE001 - one bad message must not stop the batch
                    log.exception("notification %s failed", c.id)
                    outcome.failed[c.id] = type(exc).__name__
                    continue
                if reason is None:
                    outcome.sent[c.id] = channel
                else:
                    outcome.skipped[c.id] = reason
    return outcome


def deliver_due(*, now: datetime, batch: int = 200, max_batches: int = 50) -> DeliveryReport:
    """The scheduler's pass: route new rows, send WeCom and subscribe messages, hand
    personal-WeChat rows to the bot process. Returns what happened."""
    report = DeliveryReport()
    run_in_unit_of_work(lambda: recover_stale_claims(now=now))
    for _ in range(max_batches):
        rows = run_in_unit_of_work(lambda: claim(status=OutboxStatus.PENDING, now=now, limit=batch))
        if not rows:
            break
        outcome = _send_batch(rows, now)
        run_in_unit_of_work(lambda r=rows, o=outcome: finish(claimed=r, outcome=o, now=now))  # type: ignore[misc]
        report.add(outcome, len(rows))
        if len(rows) < batch:
            break
    return report


# ------------------------------------------------------------------ the bot's deliverer


BotSend = Callable[[str, str], None]  # (contact id, text) → None; raises on failure


def claim_bot_batch(*, tenant_id: int, now: datetime, limit: int = 20) -> tuple[list[Claimed], Outcome,
                                                                                  list[tuple[Claimed, str, str]]]:
    """The bot process, step 1 (own unit of work): claim due personal-WeChat rows within
    the rate limit and render them. Returns (claimed, outcome so far, [(row, contact, text)])."""
    _recover_stale_bot(tenant_id, now)
    rows = claim(status=OutboxStatus.BOT_PENDING, now=now, limit=limit, tenant_id=tenant_id)
    outcome = Outcome()
    if not rows:
        return rows, outcome, []
    brand = get_tenant(tenant_id=tenant_id).name
    reach = reach_of(tenant_id=tenant_id, member_ids=[c.member_id for c in rows])
    ready = []
    for c in rows:
        r = reach.get(c.member_id)
        if r is None or r.bot_contact is None:
            outcome.skipped[c.id] = "no_channel"
            continue
        if r.choice == "none" or (c.kind == "daily_summary" and not r.daily_enabled) or (
                c.kind != "daily_summary" and not r.alerts_enabled):
            outcome.skipped[c.id] = "opted_out"
            continue
        ready.append((c, r.bot_contact, render_text(c.kind, c.payload, member_id=c.member_id, brand=brand)))
    granted = take_budget(channel="bot", tenant_id=tenant_id, wanted=len(ready), now=now)
    for c, _, _ in ready[granted:]:
        outcome.deferred[c.id] = next_window(now)
    return rows, outcome, ready[:granted]


def deliver_bot_due(*, tenant_id: int, send: BotSend, now: datetime, limit: int = 20) -> DeliveryReport:
    """Claim, send through `send` (the bot's transport) and record, for one tenant."""
    rows, outcome, ready = run_in_unit_of_work(lambda: claim_bot_batch(tenant_id=tenant_id, now=now,
                                                                       limit=limit))
    for c, contact, text in ready:
        try:
            send(contact, text)
            outcome.sent[c.id] = "bot"
        except Exception as exc:  # noqa: BLE001
            log.warning("bot notification %s failed: %s", c.id, exc)
            outcome.failed[c.id] = type(exc).__name__
    if rows:
        run_in_unit_of_work(lambda: finish(claimed=rows, outcome=outcome, now=now))
    report = DeliveryReport()
    report.add(outcome, len(rows))
    return report
