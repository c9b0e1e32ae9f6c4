"""Live rooms, their products, viewers and the orders placed in them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, BigId, TenantScoped, UTCDateTime, utcnow
from backend.live.types import RoomStatus, StreamKind
from backend.orm import Fen

ROOM_STATUSES = tuple(RoomStatus)
STREAM_KINDS = tuple(StreamKind)


class LiveRoom(TenantScoped, Base):
    __tablename__ = "live_rooms"
    __table_args__ = (UniqueConstraint("tenant_id", "wx_room_id"),
                      Index("ix_live_rooms_tenant_status", "tenant_id", "status", "id"))
    tenant_id_index = False

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(60), nullable=False)
    cover_url: Mapped[str] = mapped_column(String(512), default="", nullable=False)
    host_name: Mapped[str] = mapped_column(String(40), default="", nullable=False)  # 主播
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=RoomStatus.UPCOMING, nullable=False)
    stream_kind: Mapped[str] = mapped_column(String(8), nullable=False)  # pull | wechat
    stream_url: Mapped[str | None] = mapped_column(String(1000))  # checked: public host, known scheme
    stream_platform: Mapped[str | None] = mapped_column(String(16))  # douyin | kuaishou | yy | other
    stream_format: Mapped[str | None] = mapped_column(String(8))  # hls | mp4 | flv | rtmp | other
    replay_url: Mapped[str | None] = mapped_column(String(1000))
    wx_room_id: Mapped[int | None] = mapped_column(BigInteger)  # the WeChat mini-program live room
    explaining_product_id: Mapped[int | None] = mapped_column(BigId)  # 讲解中
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class LiveRoomProduct(TenantScoped, Base):
    """A SKU on a room at its live price (直播价), in the room's order."""

    __tablename__ = "live_room_products"
    tenant_id_index = False
    __table_args__ = (UniqueConstraint("tenant_id", "room_id", "sku_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    room_id: Mapped[int] = mapped_column(BigId, ForeignKey("live_rooms.id"), nullable=False)
    product_id: Mapped[int] = mapped_column(BigId, nullable=False)
    sku_id: Mapped[int] = mapped_column(BigId, nullable=False)
    live_price_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    position: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class LiveViewer(TenantScoped, Base):
    """A member who entered a room: through whose share, and whether that share bound them."""

    __tablename__ = "live_viewers"
    tenant_id_index = False
    __table_args__ = (UniqueConstraint("tenant_id", "room_id", "member_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    room_id: Mapped[int] = mapped_column(BigId, ForeignKey("live_rooms.id"), nullable=False)
    member_id: Mapped[int] = mapped_column(BigId, ForeignKey("members.id"), nullable=False)
    sharer_id: Mapped[int | None] = mapped_column(BigId)
    bound: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)  # a new binding by this room
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class LiveOrder(TenantScoped, Base):
    """An order placed in a room, attributed to the room and the sharer who brought the buyer."""

    __tablename__ = "live_orders"
    tenant_id_index = False
    __table_args__ = (UniqueConstraint("tenant_id", "order_id"),
                      Index("ix_live_orders_room", "tenant_id", "room_id", "id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    room_id: Mapped[int] = mapped_column(BigId, ForeignKey("live_rooms.id"), nullable=False)
    order_id: Mapped[int] = mapped_column(BigId, nullable=False)
    member_id: Mapped[int] = mapped_column(BigId, nullable=False)
    sharer_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
