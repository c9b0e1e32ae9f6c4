"""Plan documents shared by the rewards unit tests (the SPEC §3–4 examples)."""

from __future__ import annotations

from typing import Any

DECK_TIERS = [
    {"key": "normal", "name": "普通推广员", "rates": ["30%", "20%", "10%"]},
    {"key": "bronze", "name": "铜牌", "rates": ["20%", "10%", "5%"]},
    {"key": "silver", "name": "银牌", "rates": ["30%", "20%", "10%"]},
    {"key": "gold", "name": "金牌", "rates": ["50%", "30%", "20%"]},
]


def agent_levels(l3: str = "5%", l2: str = "7%", l1: str = "10%", **extra: Any) -> list[dict[str, Any]]:
    """The deck's three agent levels, lowest first, with optional extra fields on each."""
    return [
        {"key": "l3", "name": "三级代理", "rate": l3, **extra},
        {"key": "l2", "name": "二级代理", "rate": l2, **extra},
        {"key": "l1", "name": "一级代理", "rate": l1, **extra},
    ]


def distribution_doc(**overrides: Any) -> dict[str, Any]:
    dist: dict[str, Any] = {"depth": 3, "base": "profit",
                            "tiers": [{"key": "normal", "name": "普通推广员", "rates": ["30%", "20%", "10%"]}]}
    dist.update(overrides)
    return {"name": "三级分销", "distribution": dist}


def agents_doc(mode: str = "fixed", base: str = "profit", cap: dict[str, Any] | None = None,
               **overrides: Any) -> dict[str, Any]:
    agents: dict[str, Any] = {"mode": mode, "base": base, "levels": agent_levels()}
    agents.update(overrides)
    doc: dict[str, Any] = {"name": "代理分红", "agents": agents}
    if cap is not None:
        doc["cap"] = cap
    return doc
