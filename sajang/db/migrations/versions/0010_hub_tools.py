"""canned replies: saved replies with variables for the agent hub

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 06:00:00

The admin writes them (title unique), agents insert one into the reply box with its variables
({고객명}, {주문번호} …) filled from the open conversation.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sajang.db.types

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sajang.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sajang.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_replies")),
        sa.UniqueConstraint("title", name=op.f("uq_canned_replies_title")),
    )


def downgrade() -> None:
    op.drop_table("canned_replies")
