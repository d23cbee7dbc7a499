"""csat: one-tap customer satisfaction rating per conversation

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 03:00:00

A customer rates a finished conversation 1–5 with an optional comment; one rating per conversation (the
unique constraint makes a second tap, or two tabs at once, store nothing twice).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sajang.db.types

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "csat_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sajang.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_csat_ratings_score_range")),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE",
                                name=op.f("fk_csat_ratings_conversation_id_conversations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csat_ratings")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_csat_ratings_conversation_id")),
    )
    op.create_index("ix_csat_ratings_created", "csat_ratings", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_csat_ratings_created", table_name="csat_ratings")
    op.drop_table("csat_ratings")
