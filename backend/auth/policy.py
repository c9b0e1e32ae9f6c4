"""Who may do what: the one permission table of the back-office.

Every staff (and supplier) route needs one permission; `permission_for` derives it
from the route's method and path through RULES (first match wins), and a route no
rule matches has none, so every role is refused it (fail closed) and
tests/api/security/test_permissions.py names it. Which roles hold a permission is
TABLE; docs/permissions.md is the same table for people.

A permission held with the scope "own" lets the role through to a route whose view
narrows what it returns to the principal's own rows (sales: the orders of the
customers they own). "pii.read" is not a route permission: without it, phone numbers,
addresses and receivers' names in every staff answer are masked (miniprogram_api/http.py).

Roles: the staff roles of backend/staff/models.py plus "supplier" (a supplier's own
login). Agents are members (mini-program tokens), not staff; when the agent
back-office comes, its role gets a column here and its routes a rule.
"""

from __future__ import annotations

import re

ROLES = ("boss", "operator", "finance", "sales", "supplier")

# What each permission allows, for docs/permissions.md and error messages.
PERMISSIONS: dict[str, str] = {
    "session": "log out, see one's own brand, link the chat bot",
    "dashboard.read": "the brand's figures",
    "dashboard.refresh": "recompute the figures now",
    "tenant.manage": "binding policy of the brand",
    "staff.manage": "add staff, change roles, deactivate",
    "audit.read": "the audit trail",
    "members.read": "members, their levels and points",
    "members.manage": "member level, promoter status, freeze, promoter applications",
    "catalog.read": "products and SKUs",
    "catalog.manage": "create and change products, SKUs, stock, images",
    "orders.read": "orders (own: orders of the customers one owns)",
    "orders.fulfil": "ship orders",
    "orders.settings": "the shop's order policy",
    "refunds.read": "refund requests",
    "refunds.manage": "start, approve and reject refunds",
    "payments.read": "payment issues",
    "payments.manage": "resolve payment issues",
    "payments.offline": "mark an order paid offline (bank transfer, with a voucher)",
    "finance.read": "ledger, statements, wallets, withdrawals, reconciliation",
    "finance.manage": "finance settings, approve and reject withdrawals, reconcile",
    "rewards.read": "reward plans and payouts",
    "rewards.manage": "save and activate plans, replay, set agent levels",
    "rewards.simulate": "run the plan simulator",
    "marketing.read": "coupons, points, group buys, live rooms",
    "marketing.manage": "change coupons, points, group buys, live rooms",
    "posters.read": "poster templates",
    "posters.manage": "change and preview poster templates",
    "posters.own": "one's own share poster: the brand's invite poster with one's staff code",
    "shops.read": "members' mini-shops",
    "shops.manage": "open or close a member's mini-shop",
    "scrm.customers": "the customers one owns (managers: all), remarks, reminders, tags",
    "scrm.manage": "tags, tag rules, staff codes, workload",
    "scrm.handover": "hand customers over, link WeCom users",
    "agents.read": "agent applications, authorizations, stock, certificates",
    "agents.manage": "approve agents, authorize, ship pickups",
    "anticounterfeit.manage": "anti-counterfeit batches, shipments, cases",
    "suppliers.read": "suppliers, their products and settlements",
    "suppliers.manage": "review suppliers and their products, their withdrawals",
    "suppliers.payouts": "review suppliers' withdrawals, confirm paid batches",
    "suppliers.pay": "export the bank batch paying suppliers' withdrawals",
    "supplier.portal": "a supplier's own portal (its own rows only)",
    "pii.read": "unmasked phone numbers, addresses and receivers' names",
}

_ALL_STAFF = ("boss", "operator", "finance", "sales")
_MANAGERS = ("boss", "operator")

# permission -> {role: scope}; scope "all" or "own".
TABLE: dict[str, dict[str, str]] = {
    "session": {r: "all" for r in (*_ALL_STAFF, "supplier")},
    "tenant.manage": {r: "all" for r in _MANAGERS},
    "dashboard.read": {r: "all" for r in (*_MANAGERS, "finance")},
    "dashboard.refresh": {r: "all" for r in _MANAGERS},
    "staff.manage": {"boss": "all"},
    "audit.read": {r: "all" for r in (*_MANAGERS, "finance")},
    "members.read": {r: "all" for r in (*_MANAGERS, "finance")},
    "members.manage": {r: "all" for r in _MANAGERS},
    "catalog.read": {r: "all" for r in _ALL_STAFF},
    "catalog.manage": {r: "all" for r in _MANAGERS},
    "orders.read": {"boss": "all", "operator": "all", "finance": "all", "sales": "own"},
    "orders.fulfil": {r: "all" for r in _MANAGERS},
    "orders.settings": {r: "all" for r in _MANAGERS},
    "refunds.read": {r: "all" for r in (*_MANAGERS, "finance")},
    "refunds.manage": {r: "all" for r in (*_MANAGERS, "finance")},
    "payments.read": {r: "all" for r in (*_MANAGERS, "finance")},
    "payments.manage": {r: "all" for r in (*_MANAGERS, "finance")},
    "payments.offline": {r: "all" for r in ("boss", "finance")},
    "finance.read": {r: "all" for r in (*_MANAGERS, "finance")},
    "finance.manage": {r: "all" for r in (*_MANAGERS, "finance")},
    "rewards.read": {r: "all" for r in (*_MANAGERS, "finance")},
    "rewards.manage": {r: "all" for r in _MANAGERS},
    "rewards.simulate": {r: "all" for r in (*_MANAGERS, "finance")},
    "marketing.read": {r: "all" for r in _ALL_STAFF},
    "marketing.manage": {r: "all" for r in _MANAGERS},
    "posters.read": {r: "all" for r in _ALL_STAFF},
    "posters.manage": {r: "all" for r in _MANAGERS},
    # every staff member owns customers through a staff code (scrm.customers), so each may
    # share a poster carrying it; editing the brand's templates stays with the managers
    "posters.own": {r: "all" for r in _ALL_STAFF},
    "shops.read": {r: "all" for r in (*_MANAGERS, "finance")},
    "shops.manage": {r: "all" for r in _MANAGERS},
    "scrm.customers": {r: "all" for r in _ALL_STAFF},
    "scrm.manage": {r: "all" for r in _MANAGERS},
    "scrm.handover": {"boss": "all"},
    "agents.read": {r: "all" for r in (*_MANAGERS, "finance")},
    "agents.manage": {r: "all" for r in _MANAGERS},
    "anticounterfeit.manage": {r: "all" for r in _MANAGERS},
    "suppliers.read": {r: "all" for r in (*_MANAGERS, "finance")},
    "suppliers.manage": {r: "all" for r in _MANAGERS},
    "suppliers.payouts": {r: "all" for r in (*_MANAGERS, "finance")},
    "suppliers.pay": {"boss": "all"},
    "supplier.portal": {"supplier": "all"},
    # suppliers ship their own drop-shipped orders: they need the receiver's address
    "pii.read": {r: "all" for r in (*_MANAGERS, "supplier")},
}

_R = "/api/v1"
_ADMIN = f"{_R}/admin"
# (methods, path regex, permission): the first rule whose methods and path match wins.
# GET means reads; "W" means any other method.
RULES: list[tuple[str, str, str]] = [
    ("W", rf"{_ADMIN}/(logout|me/bot-link-code)", "session"),
    ("GET", rf"{_ADMIN}/dashboard", "dashboard.read"),
    ("W", rf"{_ADMIN}/dashboard/refresh", "dashboard.refresh"),
    ("GET", rf"{_ADMIN}/member-levels", "members.read"),
    ("W", rf"{_ADMIN}/member-levels", "members.manage"),
    ("GET", rf"{_ADMIN}/promoter-applications(/.*)?", "members.read"),
    ("W", rf"{_ADMIN}/promoter-applications/.*", "members.manage"),
    ("GET", rf"{_ADMIN}/tenant", "session"),
    ("W", rf"{_ADMIN}/tenant/policy", "tenant.manage"),
    ("*", rf"{_ADMIN}/staff(/.*)?", "staff.manage"),
    ("GET", rf"{_ADMIN}/audit", "audit.read"),
    ("GET", rf"{_ADMIN}/members(/.*)?", "members.read"),
    ("W", rf"{_ADMIN}/members/.*", "members.manage"),
    # the shop: catalog, orders, refunds, payment issues, order policy, images
    ("GET", rf"{_ADMIN}/shop/(products|skus)(/.*)?", "catalog.read"),
    ("W", rf"{_ADMIN}/shop/(products|skus|images|categories)(/.*)?", "catalog.manage"),
    ("GET", rf"{_ADMIN}/shop/categories(/.*)?", "catalog.read"),
    ("GET", rf"{_ADMIN}/shop/orders(/.*)?", "orders.read"),
    ("W", rf"{_ADMIN}/shop/orders/[^/]+/ship", "orders.fulfil"),
    ("W", rf"{_ADMIN}/shop/orders/[^/]+/offline-payment", "payments.offline"),
    ("W", rf"{_ADMIN}/shop/orders/[^/]+/refunds", "refunds.manage"),
    ("GET", rf"{_ADMIN}/shop/refunds(/.*)?", "refunds.read"),
    ("W", rf"{_ADMIN}/shop/refunds(/.*)?", "refunds.manage"),
    ("GET", rf"{_ADMIN}/shop/payment-issues(/.*)?", "payments.read"),
    ("W", rf"{_ADMIN}/shop/payment-issues(/.*)?", "payments.manage"),
    ("*", rf"{_ADMIN}/shop/order-policy", "orders.settings"),
    # money
    ("GET", rf"{_ADMIN}/(finance|reconciliation)(/.*)?", "finance.read"),
    ("W", rf"{_ADMIN}/(finance|reconciliation)(/.*)?", "finance.manage"),
    # reward plans
    ("W", rf"{_ADMIN}/rewards/(simulate|plans/validate)", "rewards.simulate"),
    ("GET", rf"{_ADMIN}/rewards/members/.*", "members.read"),
    ("GET", rf"{_ADMIN}/rewards(/.*)?", "rewards.read"),
    ("W", rf"{_ADMIN}/rewards(/.*)?", "rewards.manage"),
    # growth
    ("GET", rf"{_ADMIN}/marketing/members/.*", "members.read"),
    ("GET", rf"{_ADMIN}/(marketing|live)(/.*)?", "marketing.read"),
    ("W", rf"{_ADMIN}/(marketing|live)(/.*)?", "marketing.manage"),
    ("GET", rf"{_ADMIN}/poster-templates(/.*)?", "posters.read"),
    ("W", rf"{_ADMIN}/poster-templates(/.*)?", "posters.manage"),
    ("GET", rf"{_ADMIN}/shops(/.*)?", "shops.read"),
    ("W", rf"{_ADMIN}/shops(/.*)?", "shops.manage"),
    # customers
    ("GET", rf"{_R}/scrm/me/poster", "posters.own"),
    ("*", rf"{_R}/scrm/.*", "scrm.customers"),
    ("W", rf"{_ADMIN}/scrm/(handover|staff/[^/]+/wecom-user)", "scrm.handover"),
    ("*", rf"{_ADMIN}/scrm/.*", "scrm.manage"),
    # channels
    ("GET", rf"{_ADMIN}/agents(/.*)?", "agents.read"),
    ("W", rf"{_ADMIN}/agents(/.*)?", "agents.manage"),
    ("*", rf"{_ADMIN}/anticounterfeit(/.*)?", "anticounterfeit.manage"),
    ("*", rf"{_ADMIN}/supplier(/.*)?", "supplier.portal"),
    ("GET", rf"{_ADMIN}/suppliers(/.*)?", "suppliers.read"),
    ("W", rf"{_ADMIN}/suppliers/withdrawals/batches", "suppliers.pay"),
    ("W", rf"{_ADMIN}/suppliers/withdrawals/.*", "suppliers.payouts"),
    ("W", rf"{_ADMIN}/suppliers(/.*)?", "suppliers.manage"),
]
_COMPILED = [(m, re.compile(p + r"\Z"), perm) for m, p, perm in RULES]

for _perm in TABLE:
    assert _perm in PERMISSIONS, _perm
for _m, _p, _perm in RULES:
    assert _perm in TABLE, _perm


def permission_for(method: str, rule: str) -> str | None:
    """The permission a route needs (None: no rule covers it, so nobody may call it)."""
    path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)
    for methods, pattern, perm in _COMPILED:
        if (methods == "*" or (methods == "GET") == (method == "GET")) and pattern.match(path):
            return perm
    return None


def scope(role: str | None, permission: str | None) -> str | None:
    """"all" or "own" when the role holds the permission, None when it does not."""
    if role is None or permission is None:
        return None
    return TABLE.get(permission, {}).get(role)


def allows(role: str | None, permission: str) -> bool:
    """Whether the role holds the permission at all (any scope)."""
    return scope(role, permission) is not None


def permissions_of(role: str | None) -> list[str]:
    """Every permission the role holds, in PERMISSIONS order (the web face builds its
    menu and buttons from it, so a role sees only what it can use)."""
    return [perm for perm in PERMISSIONS if allows(role, perm)]


def markdown_table() -> str:
    """The permission table as docs/permissions.md shows it (a test keeps them equal)."""
    lines = ["| permission | what it allows | " + " | ".join(ROLES) + " |",
             "| --- | --- | " + " | ".join("---" for _ in ROLES) + " |"]
    for perm, what in PERMISSIONS.items():
        grants = TABLE.get(perm, {})
        cells = [{"all": "yes", "own": "own"}.get(grants.get(r, ""), "-") for r in ROLES]
        lines.append(f"| `{perm}` | {what} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def rules_text() -> str:
    """RULES as docs/permissions.md lists them (first match wins)."""
    return "\n".join(f"{m:<4} {p:<70} {perm}" for m, p, perm in RULES) + "\n"
