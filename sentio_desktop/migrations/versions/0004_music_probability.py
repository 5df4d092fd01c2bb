"""The analysis' "is it music" probability: a nullable ``analyses.music`` and an index to find non-music tracks.

``music`` is P(Music) of the track's middle excerpt (``sentio_ml.music_detector``); NULL means unknown (an
analysis from before this revision, or one made with the check off) and counts as music. The partial index on
(music, track_id) of current analyses answers "which tracks are not music" (``music < threshold``) from the
index alone, so playlists can leave them out without reading the analyses table.

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("analyses", sa.Column("music", sa.Float(), nullable=True))  # NULL for every existing row
    op.create_index("ix_analyses_current_music", "analyses", ["music", "track_id"], sqlite_where=sa.text("current = 1"))


def downgrade() -> None:
    op.drop_index("ix_analyses_current_music", table_name="analyses")
    # SQLite >= 3.35 drops a column in place; a batch table copy would lose the partial indexes' WHERE clauses
    op.drop_column("analyses", "music")
