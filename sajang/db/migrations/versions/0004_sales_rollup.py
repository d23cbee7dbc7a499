"""dashboard: daily sales rollups kept current by triggers

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 19:50:00

`sales_daily` (orders and revenue per shop-local day) and `product_sales_daily` (units per day and product)
count orders whose status is not cancelled/returned, like every sales figure of the dashboard. The
dashboard reads whole past days from them instead of joining ~60k `order_items` rows of the last 30 days
on every page load (PostgreSQL hash-joined a scan of all 1.5M items at 100k customers: ~180 ms).

Triggers on `orders` and `order_items` keep them exact whoever writes orders (importers, the demo, the
ORM, a status change later): a row's old contribution is subtracted and its new one added. Deleting an
order first deletes its items (so their units are subtracted while the order's day is still known; the
foreign key's cascade then finds nothing). Days are KST (UTC+9), as `rfm.local_date_expr`.

Costs: each order write also upserts its day's row (and one row per product of its lines), so concurrent
transactions writing orders of the same day wait for each other's commit on that row; importing 20k orders
took ~1.7x as long on PostgreSQL (per-row PL/pgSQL), the demo's bulk load switches the triggers off.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTED = "NOT IN ('cancelled', 'returned')"  # rfm.EXCLUDED_ORDER_STATUSES

# an update matters when it moves the order to another day or amount, or in or out of the counted statuses
# (paid → shipping → delivered does not: those updates cost nothing)
PG_CHANGED = (f"OLD.id IS DISTINCT FROM NEW.id OR OLD.ordered_at IS DISTINCT FROM NEW.ordered_at "
              f"OR OLD.amount IS DISTINCT FROM NEW.amount "
              f"OR (OLD.status {COUNTED}) IS DISTINCT FROM (NEW.status {COUNTED})")
SQLITE_CHANGED = (f"(OLD.id IS NOT NEW.id OR OLD.ordered_at IS NOT NEW.ordered_at OR OLD.amount IS NOT NEW.amount "
                  f"OR (OLD.status {COUNTED}) IS NOT (NEW.status {COUNTED}))")

PG_DAY = "(({at}) AT TIME ZONE 'Asia/Seoul')::date"
SQLITE_DAY = "date({at}, '+9 hours')"

PG_FUNCTIONS = f"""
CREATE FUNCTION sales_rollup_add(p_order varchar, p_at timestamptz, p_amount numeric, p_sign integer)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO sales_daily AS s (day, orders, revenue)
    VALUES ({PG_DAY.format(at="p_at")}, p_sign, p_sign * p_amount)
    ON CONFLICT (day) DO UPDATE SET orders = s.orders + EXCLUDED.orders, revenue = s.revenue + EXCLUDED.revenue;
    INSERT INTO product_sales_daily AS u (day, product_id, units)
    SELECT {PG_DAY.format(at="p_at")}, product_id, p_sign * sum(quantity) FROM order_items
    WHERE order_id = p_order AND product_id IS NOT NULL GROUP BY product_id
    ON CONFLICT (day, product_id) DO UPDATE SET units = u.units + EXCLUDED.units;
$$;

CREATE FUNCTION sales_rollup_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM order_items WHERE order_id = OLD.id;
        IF OLD.status {COUNTED} THEN
            PERFORM sales_rollup_add(OLD.id, OLD.ordered_at, OLD.amount, -1);
        END IF;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.status {COUNTED} THEN
        PERFORM sales_rollup_add(OLD.id, OLD.ordered_at, OLD.amount, -1);
    END IF;
    IF NEW.status {COUNTED} THEN
        PERFORM sales_rollup_add(NEW.id, NEW.ordered_at, NEW.amount, 1);
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION sales_rollup_item() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.product_id IS NOT NULL THEN
        INSERT INTO product_sales_daily AS u (day, product_id, units)
        SELECT {PG_DAY.format(at="o.ordered_at")}, OLD.product_id, -OLD.quantity FROM orders o
        WHERE o.id = OLD.order_id AND o.status {COUNTED}
        ON CONFLICT (day, product_id) DO UPDATE SET units = u.units + EXCLUDED.units;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.product_id IS NOT NULL THEN
        INSERT INTO product_sales_daily AS u (day, product_id, units)
        SELECT {PG_DAY.format(at="o.ordered_at")}, NEW.product_id, NEW.quantity FROM orders o
        WHERE o.id = NEW.order_id AND o.status {COUNTED}
        ON CONFLICT (day, product_id) DO UPDATE SET units = u.units + EXCLUDED.units;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER sales_rollup_order_insert AFTER INSERT ON orders
    FOR EACH ROW EXECUTE FUNCTION sales_rollup_order();
CREATE TRIGGER sales_rollup_order_update AFTER UPDATE OF id, ordered_at, amount, status ON orders
    FOR EACH ROW WHEN ({PG_CHANGED}) EXECUTE FUNCTION sales_rollup_order();
CREATE TRIGGER sales_rollup_order_delete BEFORE DELETE ON orders
    FOR EACH ROW EXECUTE FUNCTION sales_rollup_order();
CREATE TRIGGER sales_rollup_item AFTER INSERT OR UPDATE OR DELETE ON order_items
    FOR EACH ROW EXECUTE FUNCTION sales_rollup_item();
"""

PG_DROP = """
DROP TRIGGER IF EXISTS sales_rollup_item ON order_items;
DROP TRIGGER IF EXISTS sales_rollup_order_delete ON orders;
DROP TRIGGER IF EXISTS sales_rollup_order_update ON orders;
DROP TRIGGER IF EXISTS sales_rollup_order_insert ON orders;
DROP FUNCTION IF EXISTS sales_rollup_item();
DROP FUNCTION IF EXISTS sales_rollup_order();
DROP FUNCTION IF EXISTS sales_rollup_add(varchar, timestamptz, numeric, integer);
"""


def _sqlite_order_add(row: str, sign: str) -> str:
    day = SQLITE_DAY.format(at=f"{row}.ordered_at")
    return f"""
    INSERT INTO sales_daily (day, orders, revenue) VALUES ({day}, {sign}1, {sign}{row}.amount)
    ON CONFLICT (day) DO UPDATE SET orders = orders + excluded.orders, revenue = revenue + excluded.revenue;
    INSERT INTO product_sales_daily (day, product_id, units)
    SELECT {day}, product_id, {sign}sum(quantity) FROM order_items
    WHERE order_id = {row}.id AND product_id IS NOT NULL GROUP BY product_id
    ON CONFLICT (day, product_id) DO UPDATE SET units = units + excluded.units;"""


def _sqlite_item_add(row: str, sign: str) -> str:
    return f"""
    INSERT INTO product_sales_daily (day, product_id, units)
    SELECT {SQLITE_DAY.format(at="o.ordered_at")}, {row}.product_id, {sign}{row}.quantity FROM orders o
    WHERE o.id = {row}.order_id AND o.status {COUNTED}
    ON CONFLICT (day, product_id) DO UPDATE SET units = units + excluded.units;"""


# SQLite triggers have no procedural code: one trigger per (event, old/new side), guarded by WHEN
SQLITE_TRIGGERS = {
    "sales_rollup_order_insert": f"AFTER INSERT ON orders WHEN NEW.status {COUNTED} BEGIN"
                                 f"{_sqlite_order_add('NEW', '')} END",
    "sales_rollup_order_update_old": f"AFTER UPDATE OF id, ordered_at, amount, status ON orders "
                                     f"WHEN OLD.status {COUNTED} AND {SQLITE_CHANGED} BEGIN{_sqlite_order_add('OLD', '-')} END",
    "sales_rollup_order_update_new": f"AFTER UPDATE OF id, ordered_at, amount, status ON orders "
                                     f"WHEN NEW.status {COUNTED} AND {SQLITE_CHANGED} BEGIN{_sqlite_order_add('NEW', '')} END",
    "sales_rollup_order_delete": f"""BEFORE DELETE ON orders BEGIN
    DELETE FROM order_items WHERE order_id = OLD.id;
    UPDATE sales_daily SET orders = orders - 1, revenue = revenue - OLD.amount
    WHERE day = {SQLITE_DAY.format(at="OLD.ordered_at")} AND OLD.status {COUNTED}; END""",
    "sales_rollup_item_insert": f"AFTER INSERT ON order_items WHEN NEW.product_id IS NOT NULL BEGIN"
                                f"{_sqlite_item_add('NEW', '')} END",
    "sales_rollup_item_update_old": f"AFTER UPDATE ON order_items WHEN OLD.product_id IS NOT NULL BEGIN"
                                    f"{_sqlite_item_add('OLD', '-')} END",
    "sales_rollup_item_update_new": f"AFTER UPDATE ON order_items WHEN NEW.product_id IS NOT NULL BEGIN"
                                    f"{_sqlite_item_add('NEW', '')} END",
    "sales_rollup_item_delete": f"AFTER DELETE ON order_items WHEN OLD.product_id IS NOT NULL BEGIN"
                                f"{_sqlite_item_add('OLD', '-')} END",
}


def backfill_sql(dialect: str) -> list[str]:
    """Recompute both rollups from the orders (the same statements as `dashboard.rebuild_sales_rollup`)."""
    day = (PG_DAY if dialect == "postgresql" else SQLITE_DAY).format(at="o.ordered_at")
    return [
        "DELETE FROM sales_daily",
        "DELETE FROM product_sales_daily",
        f"INSERT INTO sales_daily (day, orders, revenue) SELECT {day}, count(*), sum(o.amount) FROM orders o "
        f"WHERE o.status {COUNTED} GROUP BY 1",
        f"INSERT INTO product_sales_daily (day, product_id, units) SELECT {day}, i.product_id, sum(i.quantity) "
        f"FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.status {COUNTED} "
        f"AND i.product_id IS NOT NULL GROUP BY 1, 2",
    ]


def upgrade() -> None:
    op.create_table(
        "sales_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("revenue", sa.Numeric(14, 2), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_sales_daily")),
    )
    op.create_table(
        "product_sales_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "product_id", name=op.f("pk_product_sales_daily")),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_FUNCTIONS)
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    for stmt in backfill_sql(dialect):
        op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_DROP)
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("product_sales_daily")
    op.drop_table("sales_daily")
