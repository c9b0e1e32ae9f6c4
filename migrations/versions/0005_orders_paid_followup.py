"""orders: followup_pending and its backlog index (the paid-order follow-up)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 03:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('followup_pending', sa.Boolean(), nullable=True))
        batch_op.create_index('ix_orders_followup', ['followup_pending', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_followup')
        batch_op.drop_column('followup_pending')
