"""mini-program binding inbox (MP_BIND_INBOX=worker)

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06 01:30:00.000000
"""
from alembic import op
import sqlalchemy as sa
import backend.db


revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('member_bind_inbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('parent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('scene', sa.String(length=64), nullable=True),
    sa.Column('received_at', backend.orm.UTCDateTime(), nullable=False),
    sa.Column('pending', sa.Boolean(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('code', sa.String(length=40), nullable=True),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_member_bind_inbox_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_bind_inbox'))
    )
    with op.batch_alter_table('member_bind_inbox', schema=None) as batch_op:
        batch_op.create_index('ix_member_bind_inbox_member', ['tenant_id', 'member_id', 'id'], unique=False)
        batch_op.create_index('ix_member_bind_inbox_pending', ['pending', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('member_bind_inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_member_bind_inbox_pending')
        batch_op.drop_index('ix_member_bind_inbox_member')

    op.drop_table('member_bind_inbox')
