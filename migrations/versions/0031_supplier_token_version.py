"""supplier logins carry a token version (logout revokes their tokens)

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05 22:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('supplier_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_version', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('supplier_users', schema=None) as batch_op:
        batch_op.drop_column('token_version')
