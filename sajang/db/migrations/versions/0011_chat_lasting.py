"""chat notify contact: «답변 알림 받기» on a conversation, and outbox rows addressed to that contact

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 06:00:00

A chat customer waiting for a person may leave a Korean mobile number or an e-mail address
(`conversations.notify_contact`); an agent's reply queues one notice per burst of replies
(`conversations.notify_sent_at`) in the outbox, addressed to that contact (`outbox.recipient`,
`outbox.conversation_id`), with no customer row when the customer chatted as a guest.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sajang.db.types

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.add_column(sa.Column("notify_contact", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("notify_sent_at", sajang.db.types.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.alter_column("customer_id", existing_type=sa.String(length=64), nullable=True)
        batch_op.add_column(sa.Column("conversation_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("recipient", sa.String(length=254), nullable=True))
        batch_op.create_foreign_key(op.f("fk_outbox_conversation_id_conversations"), "conversations",
                                    ["conversation_id"], ["id"], ondelete="CASCADE")


def downgrade() -> None:
    op.execute("DELETE FROM outbox WHERE customer_id IS NULL")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_constraint(op.f("fk_outbox_conversation_id_conversations"), type_="foreignkey")
        batch_op.drop_column("recipient")
        batch_op.drop_column("conversation_id")
        batch_op.alter_column("customer_id", existing_type=sa.String(length=64), nullable=False)
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_column("notify_sent_at")
        batch_op.drop_column("notify_contact")
