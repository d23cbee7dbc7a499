"""channels: links of KakaoTalk / TalkTalk customers to their conversation, handled inbound events

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 02:30:00

`channel_links` maps a messaging channel's user key to the conversation it writes in (and what of it was
delivered there); `channel_events` makes inbound webhooks idempotent: a platform retry finds its key and
gets the stored answer instead of running the turn again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sajang.db.types

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("thread_id", sa.String(64), nullable=False),
        sa.Column("delivered_message_id", sa.Integer(), nullable=True),
        sa.Column("owner", sa.String(16), nullable=False),
        sa.Column("created_at", sajang.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sajang.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("channel", "external_id", name="uq_channel_links_channel_external"),
    )
    op.create_index("ix_channel_links_thread", "channel_links", ["thread_id"])
    op.create_table(
        "channel_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("event_key", sa.String(128), nullable=False),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("created_at", sajang.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("channel", "event_key", name="uq_channel_events_channel_key"),
    )


def downgrade() -> None:
    op.drop_table("channel_events")
    op.drop_index("ix_channel_links_thread", table_name="channel_links")
    op.drop_table("channel_links")
