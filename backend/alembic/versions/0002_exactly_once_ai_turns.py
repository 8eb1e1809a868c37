"""exactly-once AI turns: one reply per candidate turn, one greeting and closing per interview

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPENING_CLOSING = sa.text("kind IN ('greeting', 'closing')")


def upgrade() -> None:
    with op.batch_alter_table("interview_transcripts", schema=None) as batch_op:
        batch_op.create_index("uq_transcript_reply_to", ["reply_to_id"], unique=True)
        batch_op.create_index(
            "uq_transcript_opening_closing",
            ["interview_id", "kind"],
            unique=True,
            postgresql_where=OPENING_CLOSING,
            sqlite_where=OPENING_CLOSING,
        )


def downgrade() -> None:
    with op.batch_alter_table("interview_transcripts", schema=None) as batch_op:
        batch_op.drop_index("uq_transcript_opening_closing")
        batch_op.drop_index("uq_transcript_reply_to")
