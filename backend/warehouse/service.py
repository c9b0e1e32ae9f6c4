"""Cloud warehouse verbs: restock documents and their pieces, transfers (with optional
confirmation), pickups, drop-ship consumption, stock views. Pieces move only through
the pieces ledger (backend/warehouse/ledger.py), once per idempotency key. Keyword-only,
never commit. Who may do what (authorizations, downlines) is checked here through the
agents domain; money and orders are the flows' business (backend/flows).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from backend import bulk
from backend.agents import service as agents
from backend.audit.service import record_audit
from backend.db import keep_written
from backend.extensions import db
from backend.warehouse import ledger
from backend.warehouse.errors import (
    InsufficientPieces,
    InvalidStockInput,
    NotADownline,
    PickupNotFound,
    PickupStateConflict,
    RestockNotFound,
    RestockPiecesMoved,
    TransferNotFound,
    TransferStateConflict,
)
from backend.warehouse.ledger import Leg, agent, brand
from backend.warehouse.models import Dropship, Pickup, Restock, Transfer
from backend.warehouse.types import DropshipStatus, PickupStatus, RestockInfo, RestockStatus, TransferStatus

MAX_PIECES = 100_000
_transfers = Transfer.__table__
_restocks = Restock.__table__


def _pieces_ok(n: Any) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_PIECES


# ------------------------------------------------------------------ restock


def record_restock(*, tenant_id: int, buyer_id: int, supplier_id: int, order_id: int,
                   lines: Sequence[Mapping[str, int]], settlement_mode: str, now: datetime,
                   paid_via: str | None = None, hold: bool = True) -> Restock:
    """A restock placed (its order awaits payment, or `paid_via` pays it in this same
    unit of work). From an upline, its pieces are set aside at once (upline → held), so
    the payment always finds them; `hold=False` leaves that to the caller's
    `hold_restock_pieces` later in the same unit of work."""
    pieces = sum(ln["quantity"] for ln in lines)
    [r] = bulk.insert_loaded(Restock, [dict(
        tenant_id=tenant_id, buyer_id=buyer_id, supplier_id=supplier_id, order_id=order_id,
        status=RestockStatus.CREATED, settlement_mode=settlement_mode, lines=[dict(ln) for ln in lines],
        pieces=pieces, amount_fen=sum(ln["quantity"] * ln["unit_price_fen"] for ln in lines),
        paid_via=paid_via, created_at=now)])
    if hold:
        hold_restock_pieces(tenant_id=tenant_id, restock=r, now=now)
    return r


def hold_restock_pieces(*, tenant_id: int, restock: RestockInfo, now: datetime) -> None:
    """Set a restock's pieces aside from its upline's cloud stock (upline → held), once;
    InsufficientPieces when the upline does not hold them (the unit of work rolls back)."""
    if not restock.supplier_id:
        return
    legs = []
    for ln in restock.lines:
        legs += [Leg(agent(restock.supplier_id), ln["sku_id"], -ln["quantity"]),
                 Leg(brand("held", restock.id), ln["sku_id"], ln["quantity"])]
    ledger.post(tenant_id=tenant_id, key=f"restock:hold:{restock.id}", kind="restock_hold", legs=legs, now=now,
                ref_type="restock", ref_id=restock.id, memo=f"进货单 {restock.id} 上级库存预留")


def restocks_of_orders(*, tenant_id: int, order_ids: Sequence[int], lock: bool = False) -> list[Restock]:
    """The restocks paid by these orders (orders of other kinds have none)."""
    if not order_ids:
        return []
    stmt = select(Restock).where(Restock.tenant_id == tenant_id, Restock.order_id.in_(list(order_ids)))
    if lock:
        stmt = stmt.with_for_update()
    return list(db.session.scalars(stmt.order_by(Restock.id)))


def restocks_paid(*, tenant_id: int, restocks: Sequence[Restock], now: datetime) -> list[Restock]:
    """These restocks' orders are paid (the paid-order follow-up of a batch, the rows
    locked by the caller): the pieces of each into its buyer's cloud stock (from the
    pieces held for it, or issued from the platform), once: one pieces posting per
    restock, all written by one batch (`ledger.post_many`), and the rows marked paid in
    one UPDATE. Returns those this call booked (already paid, or cancelled before the
    payment, are left: the payment path records those)."""
    due = [r for r in restocks if r.status == RestockStatus.CREATED]
    if not due:
        return []
    held = ledger.shards_of(tenant_id=tenant_id, keys=[f"restock:hold:{r.id}" for r in due if r.supplier_id],
                            kind="held")
    specs = []
    for r in due:
        source = held[f"restock:hold:{r.id}"] if r.supplier_id else brand("supply", r.id)
        legs = []
        for ln in r.lines:
            legs += [Leg(source, ln["sku_id"], -ln["quantity"]), Leg(agent(r.buyer_id), ln["sku_id"], ln["quantity"])]
        specs.append(ledger.Spec(key=f"restock:in:{r.id}", kind="restock", legs=legs, ref_type="restock", ref_id=r.id,
                                 memo=f"进货单 {r.id} 入云仓"))
    ledger.post_many(tenant_id=tenant_id, postings=specs, now=now)
    # One UPDATE for the batch; the loaded rows take the same values without a flush of their own.
    db.session.execute(update(_restocks).where(_restocks.c.tenant_id == tenant_id,
                                               _restocks.c.id.in_([r.id for r in due]))
                       .values(status=RestockStatus.PAID, paid_at=now,
                               paid_via=func.coalesce(_restocks.c.paid_via, "wechat")))
    for r in due:
        keep_written(r, status=RestockStatus.PAID.value, paid_at=now, paid_via=r.paid_via or "wechat")
    return due


def restock_cancelled(*, tenant_id: int, order_id: int, now: datetime) -> Restock | None:
    """The restock's order was cancelled unpaid: pieces set aside go back to the upline."""
    found = restocks_of_orders(tenant_id=tenant_id, order_ids=[order_id], lock=True)
    if not found or found[0].status != RestockStatus.CREATED:
        return found[0] if found else None
    r = found[0]
    if r.supplier_id:
        held = ledger.shard_of(tenant_id=tenant_id, key=f"restock:hold:{r.id}", kind="held")
        legs = []
        for ln in r.lines:
            legs += [Leg(held, ln["sku_id"], -ln["quantity"]), Leg(agent(r.supplier_id), ln["sku_id"], ln["quantity"])]
        ledger.post(tenant_id=tenant_id, key=f"restock:release:{r.id}", kind="restock_release", legs=legs, now=now,
                    ref_type="restock", ref_id=r.id, memo=f"进货单 {r.id} 取消，库存退回上级")
    r.status = RestockStatus.CANCELLED
    r.cancelled_at = now
    return r


def lock_restock(*, tenant_id: int, restock_id: int) -> Restock:
    """One restock under its row lock (RestockNotFound otherwise)."""
    r = db.session.scalar(select(Restock).where(Restock.tenant_id == tenant_id, Restock.id == restock_id)
                          .with_for_update())
    if r is None:
        raise RestockNotFound()
    return r


def return_restock_pieces(*, tenant_id: int, restock: Restock, quantities: Mapping[int, int], refund_id: int,
                          now: datetime) -> None:
    """A restock refunded (whole or some lines): its pieces leave the buyer's cloud stock
    back to where they came from (the supplying upline, or the platform's supply), once
    per refund. Pieces the buyer no longer holds (transferred, picked up, drop-shipped)
    refuse it: RestockPiecesMoved, nothing changed."""
    source = agent(restock.supplier_id) if restock.supplier_id else brand("supply", restock.id)
    legs = []
    for sku_id in sorted(quantities):
        legs += [Leg(agent(restock.buyer_id), sku_id, -quantities[sku_id]), Leg(source, sku_id, quantities[sku_id])]
    try:
        ledger.post(tenant_id=tenant_id, key=f"restock:return:{restock.id}:{refund_id}", kind="restock_return",
                    legs=legs, now=now, ref_type="restock", ref_id=restock.id, memo=f"进货单 {restock.id} 退款，货退回")
    except InsufficientPieces as exc:
        d = exc.details or {}
        raise RestockPiecesMoved(
            f"进货的货已转出、提货或代发，不能退款：云仓现有 {d.get('available', 0)} 件，需退回 {d.get('wanted', 0)} 件",
            details=d) from None


def restock_refunded(*, restock: Restock, whole: bool, now: datetime) -> None:
    """The restock's money came back: refunded when every line is."""
    if whole:
        restock.status = RestockStatus.REFUNDED


def get_restock(*, tenant_id: int, restock_id: int, member_id: int | None = None) -> Restock:
    r = db.session.scalar(select(Restock).where(Restock.tenant_id == tenant_id, Restock.id == restock_id))
    if r is None or (member_id is not None and member_id not in (r.buyer_id, r.supplier_id)):
        raise RestockNotFound()
    return r


def paying_with(*, restock: Restock, paid_via: str) -> None:
    """Note how the restock's order is being paid (wechat | stored), before its follow-up
    books the pieces in."""
    restock.paid_via = paid_via


def list_restocks(*, tenant_id: int, member_id: int | None = None, before_id: int | None = None,
                  limit: int = 50) -> list[Restock]:
    stmt = select(Restock).where(Restock.tenant_id == tenant_id)
    if member_id is not None:
        stmt = stmt.where((Restock.buyer_id == member_id) | (Restock.supplier_id == member_id))
    if before_id:
        stmt = stmt.where(Restock.id < before_id)
    return list(db.session.scalars(stmt.order_by(Restock.id.desc()).limit(limit)))


def restock_view(r: Restock) -> dict[str, Any]:
    return {"id": r.id, "order_id": r.order_id, "buyer_id": r.buyer_id,
            "supplier": "platform" if not r.supplier_id else "upline", "supplier_id": r.supplier_id or None,
            "status": r.status, "settlement_mode": r.settlement_mode, "lines": r.lines, "pieces": r.pieces,
            "amount_fen": r.amount_fen, "paid_via": r.paid_via, "created_at": r.created_at.isoformat(),
            "paid_at": r.paid_at.isoformat() if r.paid_at else None}


# ------------------------------------------------------------------ transfers


def transfer(*, tenant_id: int, from_id: int, to_id: int, sku_id: int, product_id: Callable[[], int], pieces: int,
             client_token: str, now: datetime, note: str = "") -> Transfer:
    """Move pieces to a downline agent: at once, or held until the receiver confirms
    (tenant policy). Once per client token (a replay returns the first); never overdraws.
    `product_id` gives the SKU's product when an authorization needs it. Five
    statements: the checks and the policy in one read, the transfer row claimed, the
    posting (backend/warehouse/ledger.py)."""
    if not _pieces_ok(pieces):
        raise InvalidStockInput(details=[{"field": "pieces", "message": f"数量须为 1–{MAX_PIECES}"}])
    if to_id == from_id:
        raise NotADownline("不能转给自己")
    confirmation = agents.check_can_transfer(tenant_id=tenant_id, from_id=from_id, to_id=to_id,
                                             product_id=product_id, now=now)
    row = {"tenant_id": tenant_id, "from_id": from_id, "to_id": to_id, "sku_id": sku_id, "pieces": pieces,
           "status": TransferStatus.PENDING if confirmation else TransferStatus.DONE, "client_token": client_token, "note": note[:200],
           "created_at": now, "decided_at": None if confirmation else now}
    # The client token's unique key makes the first request the only one: a replay inserts nothing.
    claimed = bulk.insert_rows(_transfers, [row], ignore=True, returning=(_transfers.c.id,))
    if not claimed:
        existing = db.session.scalar(select(Transfer).where(
            Transfer.tenant_id == tenant_id, Transfer.from_id == from_id, Transfer.client_token == client_token)
            .with_for_update(read=True))
        if existing is None:  # the first request rolled back meanwhile
            return transfer(tenant_id=tenant_id, from_id=from_id, to_id=to_id, sku_id=sku_id, product_id=product_id,
                            pieces=pieces, client_token=client_token, now=now, note=note)
        return existing
    t = Transfer(id=int(claimed[0][0]), **row)  # a plain copy of the row just written, for the caller's view
    target = brand("held", t.id) if confirmation else agent(to_id)
    ledger.post(tenant_id=tenant_id, key=f"transfer:{t.id}", kind="transfer_hold" if confirmation else "transfer",
                legs=[Leg(agent(from_id), sku_id, -pieces), Leg(target, sku_id, pieces)], now=now,
                ref_type="transfer", ref_id=t.id, memo=f"转货 {t.id}")
    return t


def decide_transfer(*, tenant_id: int, transfer_id: int, member_id: int, accept: bool, now: datetime) -> Transfer:
    """The receiver accepts (pieces in) or refuses (pieces back to the sender), once."""
    t = db.session.scalar(select(Transfer).where(Transfer.tenant_id == tenant_id, Transfer.id == transfer_id)
                          .with_for_update())
    if t is None or t.to_id != member_id:
        raise TransferNotFound()
    if t.status != TransferStatus.PENDING:
        raise TransferStateConflict()
    to = agent(t.to_id) if accept else agent(t.from_id)
    ledger.post(tenant_id=tenant_id, key=f"transfer:end:{t.id}", kind="transfer" if accept else "transfer_return",
                legs=[Leg(ledger.shard_of(tenant_id=tenant_id, key=f"transfer:{t.id}", kind="held"), t.sku_id,
                          -t.pieces), Leg(to, t.sku_id, t.pieces)], now=now,
                ref_type="transfer", ref_id=t.id, memo=f"转货 {t.id} {'确认收货' if accept else '拒收退回'}")
    t.status = TransferStatus.DONE if accept else TransferStatus.REJECTED
    t.decided_at = now
    return t


def list_transfers(*, tenant_id: int, member_id: int, status: str | None = None, limit: int = 50) -> list[Transfer]:
    stmt = select(Transfer).where(Transfer.tenant_id == tenant_id,
                                  (Transfer.from_id == member_id) | (Transfer.to_id == member_id))
    if status:
        stmt = stmt.where(Transfer.status == status)
    return list(db.session.scalars(stmt.order_by(Transfer.id.desc()).limit(limit)))


def transfer_view(t: Transfer) -> dict[str, Any]:
    return {"id": t.id, "from_id": t.from_id, "to_id": t.to_id, "sku_id": t.sku_id, "pieces": t.pieces,
            "status": t.status, "note": t.note, "created_at": t.created_at.isoformat(),
            "decided_at": t.decided_at.isoformat() if t.decided_at else None}


# ------------------------------------------------------------------ pickups


def request_pickup(*, tenant_id: int, member_id: int, sku_id: int, product_id: int, pieces: int, freight_fen: int,
                   client_token: str, receiver: Mapping[str, str], now: datetime) -> tuple[Pickup, bool]:
    """Ship some of an agent's own pieces to an address: the pieces leave its cloud stock
    at once (agent → shipped). Once per client token; returns (pickup, created)."""
    if not _pieces_ok(pieces):
        raise InvalidStockInput(details=[{"field": "pieces", "message": f"数量须为 1–{MAX_PIECES}"}])
    existing = db.session.scalar(select(Pickup).where(
        Pickup.tenant_id == tenant_id, Pickup.member_id == member_id, Pickup.client_token == client_token))
    if existing is not None:
        return existing, False
    agents.active_agent(tenant_id=tenant_id, member_id=member_id, now=now)
    p = Pickup(tenant_id=tenant_id, member_id=member_id, sku_id=sku_id, pieces=pieces, freight_fen=freight_fen,
               client_token=client_token, receiver_name=receiver["name"], receiver_phone=receiver["phone"],
               receiver_address=receiver["address"], status=PickupStatus.REQUESTED, created_at=now)
    db.session.add(p)
    db.session.flush()
    ledger.post(tenant_id=tenant_id, key=f"pickup:{p.id}", kind="pickup",
                legs=[Leg(agent(member_id), sku_id, -pieces), Leg(brand("shipped", p.id), sku_id, pieces)], now=now,
                ref_type="pickup", ref_id=p.id, memo=f"提货单 {p.id}")
    return p, True


def ship_pickup(*, tenant_id: int, pickup_id: int, company: str, tracking_no: str, actor: str,
                now: datetime) -> Pickup:
    """Record the pickup's shipment (company, tracking number); audited, correctable."""
    p = db.session.scalar(select(Pickup).where(Pickup.tenant_id == tenant_id, Pickup.id == pickup_id)
                          .with_for_update())
    if p is None:
        raise PickupNotFound()
    if p.status not in (PickupStatus.REQUESTED, PickupStatus.SHIPPED):
        raise PickupStateConflict()
    before = pickup_view(p)
    p.status = PickupStatus.SHIPPED
    p.logistics_company = company
    p.tracking_no = tracking_no
    p.shipped_at = p.shipped_at or now
    record_audit(tenant_id=tenant_id, actor=actor, action="warehouse.ship_pickup", target_type="pickup",
                 target_id=p.id, before=before, after=pickup_view(p))
    return p


def list_pickups(*, tenant_id: int, member_id: int | None = None, status: str | None = None,
                 limit: int = 50) -> list[Pickup]:
    stmt = select(Pickup).where(Pickup.tenant_id == tenant_id)
    if member_id is not None:
        stmt = stmt.where(Pickup.member_id == member_id)
    if status:
        stmt = stmt.where(Pickup.status == status)
    return list(db.session.scalars(stmt.order_by(Pickup.id.desc()).limit(limit)))


def pickup_view(p: Pickup) -> dict[str, Any]:
    return {"id": p.id, "member_id": p.member_id, "sku_id": p.sku_id, "pieces": p.pieces,
            "freight_fen": p.freight_fen, "receiver": {"name": p.receiver_name, "phone": p.receiver_phone,
                                                       "address": p.receiver_address},
            "status": p.status, "logistics_company": p.logistics_company, "tracking_no": p.tracking_no,
            "created_at": p.created_at.isoformat(), "shipped_at": p.shipped_at.isoformat() if p.shipped_at else None}


# ------------------------------------------------------------------ drop-ship


def has_pieces(*, tenant_id: int, member_id: int, quantities: Mapping[int, int]) -> bool:
    """Whether the agent holds at least these pieces now (a hint; consumption is guarded)."""
    held = ledger.pieces_of(tenant_id=tenant_id, member_id=member_id)
    return all(held.get(s, 0) >= n for s, n in quantities.items())


def consume_for_order(*, tenant_id: int, order_id: int, agent_id: int, quantities: Mapping[int, int],
                      now: datetime) -> Dropship:
    """A retail order ships from the agent's cloud stock (agent → shipped), once per order."""
    d = Dropship(tenant_id=tenant_id, order_id=order_id, agent_id=agent_id,
                 lines={str(s): n for s, n in sorted(quantities.items())}, status=DropshipStatus.CONSUMED, created_at=now)
    db.session.add(d)
    db.session.flush()
    legs = []
    for sku_id in sorted(quantities):
        legs += [Leg(agent(agent_id), sku_id, -quantities[sku_id]),
                 Leg(brand("shipped", order_id), sku_id, quantities[sku_id])]
    ledger.post(tenant_id=tenant_id, key=f"dropship:{order_id}", kind="dropship", legs=legs, now=now,
                ref_type="dropship", ref_id=d.id, memo=f"订单 {order_id} 一件代发")
    return d


def return_for_order(*, tenant_id: int, order_id: int, quantities: Mapping[int, int] | None, now: datetime,
                     key: str) -> Dropship | None:
    """A drop-ship order cancelled or refunded before shipping: its pieces (all, or the
    quantities given) go back to the agent, once per key."""
    d = db.session.scalar(select(Dropship).where(Dropship.tenant_id == tenant_id, Dropship.order_id == order_id)
                          .with_for_update())
    if d is None:
        return None
    back = {int(s): n for s, n in d.lines.items()} if quantities is None else dict(quantities)
    shipped = ledger.shard_of(tenant_id=tenant_id, key=f"dropship:{order_id}", kind="shipped")
    legs = []
    for sku_id in sorted(back):
        legs += [Leg(shipped, sku_id, -back[sku_id]), Leg(agent(d.agent_id), sku_id, back[sku_id])]
    if legs:
        ledger.post(tenant_id=tenant_id, key=f"dropship:return:{order_id}:{key}", kind="dropship_return", legs=legs,
                    now=now, ref_type="dropship", ref_id=d.id, memo=f"订单 {order_id} 取消/退款，库存退回代理")
    if quantities is None:
        d.status = DropshipStatus.RETURNED
    return d


def dropship_of_order(*, tenant_id: int, order_id: int) -> Dropship | None:
    return db.session.scalar(select(Dropship).where(Dropship.tenant_id == tenant_id, Dropship.order_id == order_id))


# ------------------------------------------------------------------ views


def stock_of(*, tenant_id: int, member_id: int) -> dict[int, int]:
    """An agent's cloud stock: pieces per SKU."""
    return ledger.pieces_of(tenant_id=tenant_id, member_id=member_id)


def check(*, tenant_id: int) -> ledger.CheckReport:
    """Balances against the ledger (see ledger.check)."""
    return ledger.check(tenant_id=tenant_id)
