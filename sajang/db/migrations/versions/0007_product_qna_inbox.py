"""product Q&A through the inbox: drafts, approval, deadlines, export/post stamps; product facts

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 02:30:00

Unanswered product questions get a draft (or a handoff) from the answering pipeline; approving stores
who answered. `marketplace` picks the answer deadline (a setting per marketplace); `exported_at` and
`posted_at` make an export or a post to the marketplace's API happen once. Products get the facts
customers ask about (options, ingredients, size, origin), which the drafts quote.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("options", sa.Text(), nullable=True))
        batch.add_column(sa.Column("ingredients", sa.Text(), nullable=True))
        batch.add_column(sa.Column("size", sa.String(200), nullable=True))
        batch.add_column(sa.Column("origin", sa.String(200), nullable=True))
    with op.batch_alter_table("product_qna") as batch:
        batch.add_column(sa.Column("marketplace", sa.String(16), nullable=True))
        batch.add_column(sa.Column("draft_status", sa.String(16), nullable=False, server_default="none"))
        batch.add_column(sa.Column("draft", sa.Text(), nullable=True))
        batch.add_column(sa.Column("draft_confidence", sa.Float(), nullable=True))
        batch.add_column(sa.Column("draft_sources", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("handoff_reason", sa.String(32), nullable=True))
        batch.add_column(sa.Column("category", sa.String(32), nullable=True))
        batch.add_column(sa.Column("drafted_at", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("answered_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("answered_by_name", sa.String(100), nullable=True))
        batch.add_column(sa.Column("exported_at", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("posted_at", UTC_DATETIME, nullable=True))
        batch.create_foreign_key("fk_product_qna_answered_by_users", "users", ["answered_by"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("product_qna") as batch:
        batch.drop_constraint("fk_product_qna_answered_by_users", type_="foreignkey")
        for name in ("posted_at", "exported_at", "answered_by_name", "answered_by", "drafted_at", "category",
                     "handoff_reason", "draft_sources", "draft_confidence", "draft", "draft_status", "marketplace"):
            batch.drop_column(name)
    with op.batch_alter_table("products") as batch:
        for name in ("origin", "size", "ingredients", "options"):
            batch.drop_column(name)
