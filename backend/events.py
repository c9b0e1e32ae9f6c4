"""What a lower domain announces, and who listens: the one way a lower domain lets
the domains above it react (an order completed, a member bound) without importing
them.

`announce(name, **payload)` calls every listener of that name synchronously, inside
the announcer's unit of work, so the reactions commit or roll back with the change
that caused them. Listeners are the sequences in backend/flows/, registered with
`@listen(name)` when the app loads them (backend/app.py imports backend.flows).

Announced today:
- members: `members_created(tenant_id, member_ids, now)`,
  `members_bound(tenant_id, bindings, now)` (a list of members.types.Bound: one
  binding in the request, a batch from the binding worker; listeners handle a batch
  in a few statements);
- orders: `order_placed(order, now)` (lines written, before any checkout discount),
  `order_paid(tenant_id, order_id)` (marked paid: the follow-up is due),
  `orders_followed_up(tenant_id, order_ids, now)` (paid, rewards recorded; announced
  by the follow-up flow), `order_cancelled(order, now)`, `order_completed(order, now)`,
  `lines_refunded(order, refund, lines, now)`, `refund_requested(order)` (before a
  refund opens: a listener raising a DomainError refuses it), `order_shipping(order)`
  (before a paid order ships: likewise);
- payments: `refund_submitting(order, refund, now)` (under the order's lock, just before
  the refund goes to WeChat Pay; a listener that raises holds the refund back);
- finance: `member_money_changed(tenant_id, member_id, kind, data, dedupe_key, now)`
  (a settlement or withdrawal result the member is told about),
  `commissions_frozen(tenant_id, commissions, now)` (rewards frozen for the first time).

An announcement nobody listens to is an error, not a no-op: money must never go
missing because backend.flows was not imported (docs/architecture.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

_LISTENERS: dict[str, list[Callable[..., None]]] = defaultdict(list)


def listen(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register the decorated function for announcements of `name` (once per function)."""

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        if fn not in _LISTENERS[name]:
            _LISTENERS[name].append(fn)
        return fn

    return register


def announce(name: str, **payload: Any) -> None:
    """Call every listener of `name` with the payload, in registration order."""
    listeners = _LISTENERS.get(name)
    if not listeners:
        raise RuntimeError(f"nobody listens to {name!r}; is backend.flows imported?")
    for fn in listeners:
        fn(**payload)


def listeners_of(name: str) -> list[Callable[..., None]]:
    """Who listens to `name`, in the order they run."""
    return list(_LISTENERS.get(name, ()))
