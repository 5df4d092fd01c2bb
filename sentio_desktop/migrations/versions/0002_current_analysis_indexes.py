"""Partial indexes on current analyses: one current analysis per track, fast track -> current join.

Revision 0001's index on (current, valence, arousal) led SQLite's planner to join every track with
every current analysis (quadratic on 100k-track libraries); these partial indexes make the join a
direct lookup and enforce "at most one current analysis per track". The index on tracks.updated_at
lets ``Library.mood_points`` notice changes in O(log n).

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Older databases could hold several current rows per track: keep only the newest.
    op.execute("UPDATE analyses SET current = 0 WHERE current = 1 AND id NOT IN "
               "(SELECT max(id) FROM analyses WHERE current = 1 GROUP BY track_id)")
    op.drop_index("ix_analyses_current_va", table_name="analyses")
    op.create_index("ix_analyses_current_track", "analyses", ["track_id"], unique=True,
                    sqlite_where=sa.text("current = 1"))
    op.create_index("ix_analyses_current_va", "analyses", ["valence", "arousal"],
                    sqlite_where=sa.text("current = 1"))
    op.create_index("ix_tracks_updated_at", "tracks", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_tracks_updated_at", table_name="tracks")
    op.drop_index("ix_analyses_current_va", table_name="analyses")
    op.drop_index("ix_analyses_current_track", table_name="analyses")
    op.create_index("ix_analyses_current_va", "analyses", ["current", "valence", "arousal"])
