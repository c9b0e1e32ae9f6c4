"""drop tenant_id indexes that repeat the first column of a unique key

On the payment path's tables every row written paid for an index its unique key
(tenant_id, …) already provides, for the tenant's lookups and its foreign key.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 03:55:00
"""
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TABLES = ('finance_reward_accruals', 'ledger_postings', 'notification_outbox', 'reward_lines', 'reward_payouts')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_tenant_id')


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f'ix_{table}_tenant_id', ['tenant_id'], unique=False)
