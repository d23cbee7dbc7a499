"""crm: segment moves stored with each segmentation run

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 17:30:00

`segmentation_runs.moves` = {"previous_run_id": id | null, "moves": [{"from", "to", "customers"}]}, written
when the run is computed, so the dashboard does not join two runs of 100k customers on every page load.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("segmentation_runs") as batch_op:
        batch_op.add_column(sa.Column("moves", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("segmentation_runs") as batch_op:
        batch_op.drop_column("moves")
