"""deferred team counters: member_team_deltas, members.had_team

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 22:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('member_team_deltas',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('l1', sa.Integer(), nullable=False),
    sa.Column('l2', sa.Integer(), nullable=False),
    sa.Column('l3', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_member_team_deltas_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_team_deltas'))
    )
    with op.batch_alter_table('member_team_deltas', schema=None) as batch_op:
        batch_op.create_index('ix_member_team_deltas_member', ['member_id', 'total', 'l1', 'l2', 'l3'], unique=False)
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('had_team', sa.Boolean(), server_default=sa.false(), nullable=False))
    # Members that have a team today had one.
    op.execute("UPDATE members SET had_team = (team_total > 0)")


def downgrade() -> None:
    # Pending deltas go back into the rows before their table goes.
    op.execute("UPDATE members SET "
               + ", ".join(f"{col} = {col} + COALESCE((SELECT SUM(d.{d}) FROM member_team_deltas d"
                           f" WHERE d.member_id = members.id), 0)"
                           for col, d in (("team_total", "total"), ("team_l1", "l1"), ("team_l2", "l2"),
                                          ("team_l3", "l3"))))
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('had_team')
    with op.batch_alter_table('member_team_deltas', schema=None) as batch_op:
        batch_op.drop_index('ix_member_team_deltas_member')
    op.drop_table('member_team_deltas')
