"""What notifications say: a promoter's day in figures, and the Chinese text of daily
summaries and change alerts for each channel.

Pure: no Flask, SQLAlchemy, Redis or clock. Days are China days (UTC+8, no DST).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from backend.finance.types import WithdrawalStatus
from backend.money import yuan
from backend.types import CHINA_TZ, china_day  # noqa: F401  (re-exported)

CHINA = CHINA_TZ




def day_window(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a China day as aware UTC datetimes."""
    start = datetime(day.year, day.month, day.day, tzinfo=CHINA).astimezone(UTC)
    return start, start + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DaySummary:
    """One promoter's day (or the day so far). Amounts are fen."""

    member_id: int
    day: date
    new_l1: int = 0  # new direct team members
    new_l2: int = 0
    new_l3: int = 0
    orders: int = 0  # paid orders of the team (levels 1–3)
    order_fen: int = 0  # what those orders paid
    frozen_fen: int = 0  # commission earned that day, frozen until settlement
    settled_fen: int = 0  # commission that became withdrawable that day
    balance_fen: int = 0  # withdrawable balance now

    @property
    def new_total(self) -> int:
        return self.new_l1 + self.new_l2 + self.new_l3

    def has_news(self) -> bool:
        """Whether anything happened that day (a quiet day sends nothing)."""
        return bool(self.new_total or self.orders or self.frozen_fen or self.settled_fen)

    def as_payload(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "new": [self.new_l1, self.new_l2, self.new_l3],
                "orders": self.orders, "order_fen": self.order_fen, "frozen_fen": self.frozen_fen,
                "settled_fen": self.settled_fen, "balance_fen": self.balance_fen}

    @classmethod
    def from_payload(cls, member_id: int, payload: Mapping[str, Any]) -> DaySummary:
        new = list(payload.get("new") or (0, 0, 0))
        return cls(member_id=member_id, day=date.fromisoformat(payload["day"]),
                   new_l1=int(new[0]), new_l2=int(new[1]), new_l3=int(new[2]),
                   orders=int(payload.get("orders", 0)), order_fen=int(payload.get("order_fen", 0)),
                   frozen_fen=int(payload.get("frozen_fen", 0)),
                   settled_fen=int(payload.get("settled_fen", 0)),
                   balance_fen=int(payload.get("balance_fen", 0)))


def _day_label(day: date, *, today: bool) -> str:
    return "今日" if today else f"{day.month}月{day.day}日"


def summary_text(s: DaySummary, *, brand: str = "", today: bool = False) -> str:
    """The summary as a chat message (bot, WeCom app message)."""
    label = _day_label(s.day, today=today)
    head = f"【{brand}】" if brand else ""
    lines = [
        f"{head}{label}团队与佣金" + ("（截至目前）" if today else ""),
        f"新增团队成员：{s.new_total} 人（一级 {s.new_l1} / 二级 {s.new_l2} / 三级 {s.new_l3}）",
        f"团队订单：{s.orders} 单，金额 ¥{yuan(s.order_fen)}",
        f"新增佣金（冻结中）：¥{yuan(s.frozen_fen)}",
        f"结算到账：¥{yuan(s.settled_fen)}",
        f"可提现余额：¥{yuan(s.balance_fen)}",
    ]
    return "\n".join(lines)


def summary_brief(s: DaySummary) -> str:
    """At most 20 characters (a subscribe message's `thing` value)."""
    return _clip(f"新增{s.new_total}人 {s.orders}单 佣金{yuan(s.frozen_fen)}元", 20)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_WITHDRAWAL_STATUS: dict[str, str] = {WithdrawalStatus.PAID: "已到账", WithdrawalStatus.REJECTED: "未通过审核",
                                      WithdrawalStatus.FAILED: "打款失败"}


def alert_text(kind: str, data: Mapping[str, Any], *, brand: str = "") -> str:
    """The text of a change alert (bot, WeCom app message)."""
    head = f"【{brand}】" if brand else ""
    if kind == "team_member":
        level = int(data.get("level", 1))
        name = data.get("nickname") or "新朋友"
        level_name = {1: "一级", 2: "二级", 3: "三级"}.get(level, f"{level}级")
        return f"{head}新成员加入：{name} 成为您的{level_name}团队成员。"
    if kind == "commission":
        amount = yuan(int(data.get("amount_fen", 0)))
        order = data.get("order_no") or data.get("order_id")
        where = f"订单 {order} " if order else ""
        return f"{head}新佣金：{where}为您带来 ¥{amount}，冻结中，售后期结束后自动结算。"
    if kind == "settlement":
        amount = yuan(int(data.get("amount_fen", 0)))
        count = int(data.get("count", 0))
        extra = f"（{count} 笔）" if count else ""
        return f"{head}佣金结算：¥{amount}{extra} 已转入可提现余额。"
    if kind == "withdrawal":
        amount = yuan(int(data.get("amount_fen", 0)))
        status = str(data.get("status", ""))
        text = f"{head}提现结果：¥{amount} {_WITHDRAWAL_STATUS.get(status, status)}"
        if status != WithdrawalStatus.PAID:
            reason = data.get("reason")
            text += f"，原因：{reason}" if reason else ""
            text += "，金额已退回余额"
        return text + "。"
    if kind == "agent":  # the agent channel: applications, reviews, transfers (backend/flows/agent_channel.py)
        return f"{head}{data.get('text', '')}"
    if kind == "promoter":
        outcome = str(data.get("outcome", ""))
        if outcome == "rejected":
            reason = data.get("reason")
            return f"{head}推广员申请未通过" + (f"，原因：{reason}" if reason else "") + "。可修改资料后再次申请。"
        if outcome == "condition_met":
            return f"{head}恭喜！您已满足条件，成为推广员，快去分享海报邀请好友吧。"
        return f"{head}恭喜！您的推广员申请已通过，快去分享海报邀请好友吧。"
    if kind == "commission_reversed":
        amount = yuan(int(data.get("amount_fen", 0)))
        order = data.get("order_no") or ""
        if data.get("settled"):
            return (f"{head}佣金调整：订单 {order} 已退款，已结算的 ¥{amount} 佣金从可提现余额中扣回。")
        return f"{head}佣金调整：订单 {order} 已退款，冻结中的 ¥{amount} 佣金已取消。"
    if kind == "upgrade":
        what = "、".join(x for x in (data.get("level"), data.get("tier")) if x)
        return f"{head}恭喜升级！您已成为{what or '更高等级'}，新的奖励比例即刻生效。"
    raise ValueError(f"unknown alert kind {kind!r}")


_ALERT_TITLES = {"team_member": "新成员加入", "commission": "新佣金到账",
                 "settlement": "佣金结算", "withdrawal": "提现结果", "agent": "代理通知",
                 "promoter": "推广员审核结果", "upgrade": "等级提升",
                 "commission_reversed": "佣金调整"}

DEFAULT_DAILY_FIELDS = {"thing1": "title", "thing2": "brief", "date3": "date"}
DEFAULT_ALERT_FIELDS = {"thing1": "title", "thing2": "brief", "date3": "date"}


def subscribe_values(kind: str, payload: Mapping[str, Any], *, day: date,
                     fields: Mapping[str, str] | None, member_id: int = 0) -> dict[str, dict[str, str]]:
    """The `data` of a mini-program subscribe message: our named values ("title",
    "brief", "date", "amount", "balance") placed under the template's keys."""
    if kind == "daily_summary":
        s = DaySummary.from_payload(member_id, payload)
        values = {"title": f"{s.day.month}月{s.day.day}日团队与佣金", "brief": summary_brief(s),
                  "date": s.day.isoformat(), "amount": f"{yuan(s.frozen_fen)}元",
                  "balance": f"{yuan(s.balance_fen)}元"}
        mapping = fields or DEFAULT_DAILY_FIELDS
    else:
        values = {"title": _ALERT_TITLES.get(kind, "通知"),
                  "brief": _clip(alert_text(kind, payload), 20), "date": day.isoformat(),
                  "amount": f"{yuan(int(payload.get('amount_fen', 0)))}元", "balance": ""}
        mapping = fields or DEFAULT_ALERT_FIELDS
    return {key: {"value": _clip(values.get(name, ""), 20)} for key, name in mapping.items()}


@dataclass(frozen=True, slots=True)
class BrandDay:
    """A brand's day for its staff group robot."""

    day: date
    new_members: int
    orders: int
    order_fen: int
    commission_fen: int
    top: tuple[tuple[str, int], ...]  # (nickname, commission fen), best first


def robot_report_markdown(d: BrandDay, *, brand: str) -> str:
    """The brand's day as WeCom robot markdown (≤ 4096 bytes)."""
    lines = [f"**{brand} {d.day.month}月{d.day.day}日战报**",
             f"> 新增会员：<font color=\"info\">{d.new_members}</font> 人",
             f"> 团队订单：{d.orders} 单，¥{yuan(d.order_fen)}",
             f"> 新增佣金：¥{yuan(d.commission_fen)}"]
    if d.top:
        lines.append("佣金榜：")
        lines += [f"{i}. {_clip(name, 16)} ¥{yuan(fen)}" for i, (name, fen) in enumerate(d.top, 1)]
    return "\n".join(lines)
