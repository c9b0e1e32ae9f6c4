"""Live rooms, materials, member levels and views, promoter applications, the dashboard,
reconciliation and images as the API shows them."""

from __future__ import annotations

from miniprogram_api.http import Out, Timestamp


class PeriodOut(Out):
    start: str
    end: str


class TotalCompare(Out):
    current: int
    previous: int
    change_pct: str | None


class TopItem(Out):
    id: int
    name: str
    fen: int


class DashboardOut(Out):
    period: PeriodOut
    previous: PeriodOut
    days: list[str]
    series: dict[str, list[int]]
    previous_series: dict[str, list[int]]  # the previous period's days, aligned with `days`
    bindings_by_source: dict[str, list[int]]
    commission_by_kind: dict[str, list[int]]
    totals: dict[str, TotalCompare]
    top_products: list[TopItem]
    top_promoters: list[TopItem]
    pending: dict[str, int]
    updated_at: Timestamp | None


class RefreshedOut(Out):
    facts: int
    refreshed_at: Timestamp


class ImageOut(Out):
    sha256: str
    content_type: str
    width: int
    height: int
    url: str


class LiveStream(Out):
    kind: str
    url: str | None
    platform: str | None
    format: str | None
    wx_room_id: int | None
    replay_url: str | None


class LiveProduct(Out):
    product_id: int
    sku_id: int | None
    name: str
    live_price_fen: int
    live_price: str
    explaining: bool


class LiveRoomOut(Out):
    id: int
    title: str
    cover_url: str
    host_name: str
    scheduled_at: Timestamp
    status: str
    stream: LiveStream
    explaining_product_id: int | None
    products: list[LiveProduct]


class LiveEntryOut(LiveRoomOut):
    bind_status: str | None


class SharerFigures(Out):
    member_id: int
    orders: int
    gmv_fen: int
    rewards_fen: int


class LiveStatsOut(Out):
    room_id: int
    viewers: int
    new_bindings: int
    orders: int
    gmv_fen: int
    rewards_fen: int
    sharers: list[SharerFigures]


class MaterialOut(Out):
    id: int
    kind: str
    title: str
    body: str
    media_urls: list[str]
    category: str
    product_id: int | None
    status: str
    created_at: Timestamp | None


class MaterialStatsOut(MaterialOut):
    downloads: int
    shares: int
    bindings: int
    orders: int
    gmv_fen: int


class MaterialSharedOut(MaterialOut):
    share_link: str
    scene: str


class MemberLevelOut(Out):
    level: int
    name: str
    discount_rate: str
    discount_text: str


class BindingOut(Out):
    id: int
    parent_id: int
    source: str
    scene: str | None
    bound_at: Timestamp
    ended_at: Timestamp | None
    end_reason: str | None


class PromoterApplicationOut(Out):
    id: int
    member_id: int
    real_name: str
    phone: str
    reason: str
    status: str
    reject_reason: str | None
    decided_by: str | None
    created_at: Timestamp
    decided_at: Timestamp | None


class MyPromoterOut(Out):
    promoter_status: str
    application: PromoterApplicationOut | None


class ReconRunOut(Out):
    id: int
    bill_date: str
    status: str
    trade_rows: int
    fund_rows: int
    differences: int
    bill_net_fen: int | None
    ledger_net_fen: int | None
    error: str | None
    updated_at: Timestamp


class ReconStartedOut(Out):
    bill_date: str
    status: str


class ReconDifferenceOut(Out):
    id: int
    bill_date: str
    kind: str
    ref: str
    bill_fen: int | None
    ledger_fen: int | None
    note: str
    status: str
    resolved_by: str | None
    resolution: str | None
    resolved_at: Timestamp | None


class SandboxPaidOut(Out):
    order_id: int
    status: str



class StoredPaidOut(Out):
    order_id: int
    order_no: str
    stored_fen: int
    wechat_due_fen: int
    paid: bool


class TenantLoad(Out):
    tenant_id: int
    orders: int
    sales_fen: int
    new_members: int
    bindings: int


class LoadTotals(Out):
    orders: int
    sales_fen: int
    new_members: int
    bindings: int


class PlatformLoadOut(Out):
    day: str
    totals: LoadTotals
    active_tenants: int
    tenants: list[TenantLoad]
