"""call.sop_stages: the SOP stages a call works on, given at upload

Revision ID: 20261126_0006
Revises: 20261126_0005
Create Date: 2026-11-26 16:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '20261126_0006'
down_revision = '20261126_0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('call') as batch:
        batch.add_column(sa.Column('sop_stages', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('call') as batch:
        batch.drop_column('sop_stages')
