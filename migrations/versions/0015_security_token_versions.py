"""revocable tokens and the role table: token versions, member status, sales role

Staff and members carry a token version (bumped by logout, role changes,
deactivation, a freeze); members gain a status (active | frozen). The lowest staff
role is renamed from "staff" to "sales" (the role table: boss, operator, finance,
sales).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 19:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_version', sa.Integer(), server_default='0',
                                      nullable=False))
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), server_default='active',
                                      nullable=False))
        batch_op.add_column(sa.Column('token_version', sa.Integer(), server_default='0',
                                      nullable=False))
    op.execute("UPDATE staff_accounts SET role = 'sales' WHERE role = 'staff'")


def downgrade() -> None:
    op.execute("UPDATE staff_accounts SET role = 'staff' WHERE role = 'sales'")
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('token_version')
        batch_op.drop_column('status')
    with op.batch_alter_table('staff_accounts', schema=None) as batch_op:
        batch_op.drop_column('token_version')
