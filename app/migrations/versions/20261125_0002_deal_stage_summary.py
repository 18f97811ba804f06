"""deal stage summary: one row per deal and stage, and the deal's reach keys, backfilled from the history

Revision ID: 20261125_0002
Revises: 20261125_0001
Create Date: 2026-11-25 19:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '20261125_0002'
down_revision = '20261125_0001'
branch_labels = None
depends_on = None

# What app.deals.stage_summary.summarize computes per deal, in one statement over the whole history:
# each event with the time of the deal's next one (by time, then id); entries and completed stays
# per stage the event leads into; advances and wins per stage the event leaves.
BACKFILL = """
INSERT INTO deal_stage_summary (deal_id, stage_id, entries, first_entered_at, advanced_out, last_left_at,
                                stays, dwell_seconds)
SELECT deal_id, stage_id, sum(entries), min(first_entered_at), sum(advanced_out), max(last_left_at),
       sum(stays), sum(dwell_seconds)
FROM (
    SELECT deal_id, to_stage AS stage_id, count(*) AS entries, min(at) AS first_entered_at,
           0 AS advanced_out, NULL AS last_left_at, count(next_at) AS stays,
           coalesce(sum({seconds}), 0) AS dwell_seconds
    FROM (SELECT deal_id, to_stage, at, lead(at) OVER (PARTITION BY deal_id ORDER BY at, id) AS next_at
          FROM deal_stage_event) AS paired
    WHERE to_stage IS NOT NULL AND to_stage <> ''
    GROUP BY deal_id, to_stage
    UNION ALL
    SELECT deal_id, from_stage, 0, NULL, count(*), max(at), 0, 0
    FROM deal_stage_event
    WHERE kind IN ('advanced', 'won') AND from_stage IS NOT NULL AND from_stage <> ''
    GROUP BY deal_id, from_stage
) AS parts
GROUP BY deal_id, stage_id
"""
# The deal's reach keys: ids of the stages it entered / advanced out of, sorted by code point (as
# Python's sorted() in app.deals.stage_summary.reach_keys), space-separated.
KEYS = {
    "postgresql": """
UPDATE deal SET entered_stages = keys.entered, advanced_stages = keys.advanced
FROM (SELECT deal_id,
             coalesce(string_agg(stage_id, ' ' ORDER BY stage_id COLLATE "C") FILTER (WHERE entries > 0), '')
                 AS entered,
             coalesce(string_agg(stage_id, ' ' ORDER BY stage_id COLLATE "C") FILTER (WHERE advanced_out > 0), '')
                 AS advanced
      FROM deal_stage_summary GROUP BY deal_id) AS keys
WHERE keys.deal_id = deal.id
""",
    # SQLite before 3.44 has no ORDER BY inside group_concat; it concatenates in the order of the
    # ordered subquery it reads.
    "sqlite": """
UPDATE deal SET
    entered_stages = coalesce((SELECT group_concat(stage_id, ' ') FROM (
        SELECT stage_id FROM deal_stage_summary AS s WHERE s.deal_id = deal.id AND s.entries > 0
        ORDER BY stage_id)), ''),
    advanced_stages = coalesce((SELECT group_concat(stage_id, ' ') FROM (
        SELECT stage_id FROM deal_stage_summary AS s WHERE s.deal_id = deal.id AND s.advanced_out > 0
        ORDER BY stage_id)), '')
""",
}
SECONDS = {
    "postgresql": "date_part('epoch', next_at - at)",
    "sqlite": "(julianday(next_at) - julianday(at)) * 86400.0",
}


def upgrade() -> None:
    op.create_table('deal_stage_summary',
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.String(length=80), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('first_entered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('advanced_out', sa.Integer(), nullable=False),
    sa.Column('last_left_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stays', sa.Integer(), nullable=False),
    sa.Column('dwell_seconds', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['deal_id'], ['deal.id'], name=op.f('fk_deal_stage_summary_deal_id_deal'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('deal_id', 'stage_id', name=op.f('pk_deal_stage_summary'))
    )
    with op.batch_alter_table('deal_stage_summary', schema=None) as batch_op:
        batch_op.create_index('ix_deal_stage_summary_dwell', ['deal_id', 'stage_id', 'stays', 'dwell_seconds'],
                              unique=False)
    with op.batch_alter_table('deal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entered_stages', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('advanced_stages', sa.Text(), server_default='', nullable=False))
        batch_op.create_index('ix_deal_process_status_reach',
                              ['process_id', 'status', 'entered_stages', 'advanced_stages'], unique=False)
    dialect = "postgresql" if op.get_bind().dialect.name == "postgresql" else "sqlite"
    op.execute(BACKFILL.format(seconds=SECONDS[dialect]))
    op.execute(KEYS[dialect])


def downgrade() -> None:
    with op.batch_alter_table('deal', schema=None) as batch_op:
        batch_op.drop_index('ix_deal_process_status_reach')
        batch_op.drop_column('advanced_stages')
        batch_op.drop_column('entered_stages')
    with op.batch_alter_table('deal_stage_summary', schema=None) as batch_op:
        batch_op.drop_index('ix_deal_stage_summary_dwell')
    op.drop_table('deal_stage_summary')
