"""A supplier's statement (对账单, SPEC §6): every entry on its ledger accounts (frozen
and available income, withdrawals), newest first, and the same as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from backend.finance.statements import ACCOUNT_TITLES, POSTING_TITLES
from backend.ledger import service as ledger
from backend.ledger.service import EntryLine
from backend.money import yuan

CSV_HEADER = ["时间", "流水号", "类型", "账户", "金额(元)", "金额(分)", "订单ID", "订单行ID", "提现单ID", "备注"]


def _line_view(e: EntryLine) -> dict[str, Any]:
    return {"id": e.entry_id, "at": e.created_at.isoformat(), "posting_id": e.posting_id, "type": e.posting_kind,
            "title": POSTING_TITLES.get(e.posting_kind, e.posting_kind), "account": e.account_kind,
            "account_title": ACCOUNT_TITLES.get(e.account_kind, e.account_kind), "amount_fen": e.amount_fen,
            "amount": yuan(e.amount_fen), "memo": e.memo, "order_id": e.order_id,
            "order_line_id": e.order_line_id, "withdrawal_id": e.withdrawal_id}


def supplier_statement(*, tenant_id: int, supplier_id: int, before_id: int | None = None, limit: int = 50,
                       start: datetime | None = None, end: datetime | None = None) -> dict[str, Any]:
    """The supplier's entries newest first, keyset-paged by entry id."""
    lines = ledger.entries_of_owner(tenant_id=tenant_id, owner_id=-supplier_id, before_id=before_id, limit=limit,
                                    start=start, end=end)
    return {"items": [_line_view(e) for e in lines],
            "next_cursor": lines[-1].entry_id if len(lines) == limit else None}


def _csv_line(values: Sequence[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(["" if v is None else v for v in values])
    return buf.getvalue()


def supplier_statement_csv(*, tenant_id: int, supplier_id: int, start: datetime | None = None,
                           end: datetime | None = None) -> Iterator[str]:
    """The supplier's entries as CSV lines (UTF-8 with BOM, for Excel), oldest first, streamed."""
    yield "\ufeff" + _csv_line(CSV_HEADER)
    for e in ledger.iter_entries(tenant_id=tenant_id, owner_id=-supplier_id, start=start, end=end):
        yield _csv_line([e.created_at.isoformat(), e.posting_id, POSTING_TITLES.get(e.posting_kind, e.posting_kind),
                         ACCOUNT_TITLES.get(e.account_kind, e.account_kind), yuan(e.amount_fen), e.amount_fen,
                         e.order_id, e.order_line_id, e.withdrawal_id, e.memo])
