"""sop learning: reviews since the last re-match of a SOP's calls

Revision ID: 20261126_0004
Revises: 20261126_0003
Create Date: 2026-11-26 07:13:44
"""
import sqlalchemy as sa
from alembic import op

revision = '20261126_0004'
down_revision = '20261126_0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sop_learning',
    sa.Column('sop_id', sa.String(length=100), nullable=False),
    sa.Column('review_changes', sa.Integer(), nullable=False),
    sa.Column('rematched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rematch_calls', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('sop_id', name=op.f('pk_sop_learning'))
    )


def downgrade() -> None:
    op.drop_table('sop_learning')
