"""approval ux: a coupon code of its own per customer

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 06:00:00

A segmentation run used to give every customer of a segment the same code (`RFM12-ATRISK`): guessable by
anyone who knew one, and shareable. Each `coupon_issues` row now carries its own unguessable code (unique
across the shop); the `coupons` row stays the campaign (amount, minimum order, validity). Older issues keep
NULL: their customers were sent the campaign's code.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("coupon_issues", sa.Column("code", sa.String(length=32), nullable=True))
    op.create_index("uq_coupon_issues_code", "coupon_issues", ["code"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_coupon_issues_code", table_name="coupon_issues")
    with op.batch_alter_table("coupon_issues") as batch:
        batch.drop_column("code")
