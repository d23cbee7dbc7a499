"""crm: covering index for the RFM aggregation

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 17:16:00

`SELECT customer_id, max(ordered_at), count(*), sum(amount) … WHERE status … GROUP BY customer_id` reads
only this index (SQLite: a covering-index scan already in group order, no table lookups), which takes the
RFM of 1M orders from ~12 s to ~2 s on SQLite.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_orders_rfm", "orders", ["customer_id", "status", "ordered_at", "amount"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_orders_rfm", table_name="orders")
