"""call sop review: a person's corrections of a call's SOP labels, kept across re-matches

Revision ID: 20261126_0003
Revises: 20261125_0002
Create Date: 2026-11-26 06:02:33
"""
import sqlalchemy as sa
from alembic import op

revision = '20261126_0003'
down_revision = '20261125_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('call_sop_review',
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('sop_id', sa.String(length=100), nullable=False),
    sa.Column('sop_version', sa.Integer(), nullable=False),
    sa.Column('corrections', sa.JSON(), nullable=False),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_by', sa.String(length=254), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['call.id'], name=op.f('fk_call_sop_review_call_id_call'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['user_account.id'], name=op.f('fk_call_sop_review_reviewed_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('call_id', name=op.f('pk_call_sop_review'))
    )
    with op.batch_alter_table('call_sop_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_sop_review_sop_id'), ['sop_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('call_sop_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_sop_review_sop_id'))

    op.drop_table('call_sop_review')
