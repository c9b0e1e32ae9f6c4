"""Tag rules, pure: validate a rule's parameters and decide which rules a fact matches.

Three kinds (params JSON):
  channel   {"channels": ["门店", "展会"]}           the customer arrived through a code of
                                                     one of these channels
  keyword   {"keywords": ["价格", "多少钱"]}          a message of the customer contains any
                                                     keyword (case- and width-insensitive)
  purchase  {"min_orders": 2, "min_total_fen": 50000, "product_ids": [12, 13]}
            every condition given must hold: at least that many paid orders, at least that
            much paid in total (fen), bought any of those products. At least one is needed.

No database, no clock: callers pass facts in.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

KINDS = ("channel", "keyword", "purchase")
MAX_ITEMS = 50
MAX_FEN = 10**12


class RuleInvalid(ValueError):
    """The params are unusable; `problems` lists {"field", "message"}."""

    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{p['field']}: {p['message']}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Rule:
    id: int
    tag_id: int
    kind: str
    channels: frozenset[str] = frozenset()
    keywords: tuple[str, ...] = ()  # normalised
    min_orders: int = 0
    min_total_fen: int = 0
    product_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class PurchaseFacts:
    """What a customer has bought: paid orders not wholly refunded, net paid fen, products."""

    order_count: int = 0
    total_fen: int = 0
    product_ids: frozenset[int] = field(default_factory=frozenset)


def normalise(text: str) -> str:
    """Fold width and case so "ＶＩＰ", "vip" and "VIP" match."""
    return unicodedata.normalize("NFKC", text or "").casefold().strip()


def _strings(params: Mapping[str, Any], name: str, *, max_len: int,
             problems: list[dict[str, str]]) -> list[str]:
    value = params.get(name)
    if not isinstance(value, list) or not value:
        problems.append({"field": f"params.{name}", "message": "需要至少一项"})
        return []
    if len(value) > MAX_ITEMS:
        problems.append({"field": f"params.{name}", "message": f"最多 {MAX_ITEMS} 项"})
        return []
    out: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip() or len(item.strip()) > max_len:
            problems.append({"field": f"params.{name}[{i}]",
                             "message": f"须为 1–{max_len} 个字的文字"})
        elif item.strip() not in out:
            out.append(item.strip())
    return out


def _count(params: Mapping[str, Any], name: str, maximum: int,
           problems: list[dict[str, str]]) -> int | None:
    if name not in params or params[name] is None:
        return None
    value = params[name]
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        problems.append({"field": f"params.{name}", "message": f"须为 0–{maximum} 的整数"})
        return None
    return value


def validate_params(kind: str, params: Any) -> dict[str, Any]:
    """The params in canonical form, or RuleInvalid listing every problem."""
    if kind not in KINDS:
        raise RuleInvalid([{"field": "kind", "message": "须为 channel、keyword 或 purchase"}])
    if not isinstance(params, Mapping):
        raise RuleInvalid([{"field": "params", "message": "须为对象"}])
    allowed = {"channel": {"channels"}, "keyword": {"keywords"},
               "purchase": {"min_orders", "min_total_fen", "product_ids"}}[kind]
    problems = [{"field": f"params.{k}", "message": "不支持的字段"} for k in params if k not in allowed]
    out: dict[str, Any] = {}
    if kind == "channel":
        out["channels"] = _strings(params, "channels", max_len=32, problems=problems)
    elif kind == "keyword":
        out["keywords"] = _strings(params, "keywords", max_len=30, problems=problems)
    else:
        orders = _count(params, "min_orders", 1_000_000, problems)
        total = _count(params, "min_total_fen", MAX_FEN, problems)
        ids: list[int] | None = None
        if params.get("product_ids") is not None:
            raw = params["product_ids"]
            if not isinstance(raw, list) or not raw or len(raw) > MAX_ITEMS or any(
                    not isinstance(i, int) or isinstance(i, bool) or i < 1 for i in raw):
                problems.append({"field": "params.product_ids",
                                 "message": f"须为 1–{MAX_ITEMS} 个商品编号"})
            else:
                ids = sorted(set(raw))
        if not (orders or total or ids) and not problems:
            problems.append({"field": "params", "message": "至少设置一个条件（订单数、金额或商品）"})
        out = {k: v for k, v in (("min_orders", orders), ("min_total_fen", total),
                                 ("product_ids", ids)) if v}
    if problems:
        raise RuleInvalid(problems)
    return out


def build_rule(*, rule_id: int, tag_id: int, kind: str, params: Mapping[str, Any]) -> Rule:
    """A rule from stored (already validated) params."""
    if kind == "channel":
        return Rule(id=rule_id, tag_id=tag_id, kind=kind, channels=frozenset(params["channels"]))
    if kind == "keyword":
        return Rule(id=rule_id, tag_id=tag_id, kind=kind,
                    keywords=tuple(sorted({normalise(k) for k in params["keywords"]})))
    return Rule(id=rule_id, tag_id=tag_id, kind=kind, min_orders=int(params.get("min_orders", 0)),
                min_total_fen=int(params.get("min_total_fen", 0)),
                product_ids=frozenset(params.get("product_ids") or ()))


def match_channel(rules: Iterable[Rule], channel: str) -> list[Rule]:
    """Channel rules naming this channel."""
    return [r for r in rules if r.kind == "channel" and channel and channel in r.channels]


def match_keywords(rules: Iterable[Rule], text: str) -> list[Rule]:
    """Keyword rules with a keyword inside the text."""
    folded = normalise(text)
    if not folded:
        return []
    return [r for r in rules if r.kind == "keyword" and any(k in folded for k in r.keywords)]


def match_purchase(rules: Iterable[Rule], facts: PurchaseFacts) -> list[Rule]:
    """Purchase rules whose every condition the facts meet."""
    return [r for r in rules if r.kind == "purchase"
            and facts.order_count >= r.min_orders
            and facts.total_fen >= r.min_total_fen
            and (not r.product_ids or bool(r.product_ids & facts.product_ids))
            and facts.order_count > 0]


def tag_ids(rules: Sequence[Rule]) -> list[int]:
    """The distinct tags of matched rules, in rule order."""
    seen: list[int] = []
    for r in rules:
        if r.tag_id not in seen:
            seen.append(r.tag_id)
    return seen
