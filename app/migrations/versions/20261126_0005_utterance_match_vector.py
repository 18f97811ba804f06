"""utterance match vectors: SOP matching's own embedding where it differs from the search one

Revision ID: 20261126_0005
Revises: 20261126_0004
Create Date: 2026-11-26 11:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '20261126_0005'
down_revision = '20261126_0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('utterance_embedding') as batch:
        batch.add_column(sa.Column('match_model', sa.String(length=120), nullable=True))
        batch.add_column(sa.Column('match_vector', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('utterance_embedding') as batch:
        batch.drop_column('match_vector')
        batch.drop_column('match_model')
