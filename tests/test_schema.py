"""Migrations on the real database (SQLite or PostgreSQL) and the column types they rely on."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select

from sajang.db.engine import alembic_config, at_head, head_revision, session_scope, upgrade
from sajang.db.models import Base, Customer, Order


def test_migrations_create_every_table(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables
    upgrade(engine)  # running again is a no-op


def test_the_quick_check_at_start_reads_the_head_alembic_knows(engine: Engine) -> None:
    from alembic.script import ScriptDirectory

    assert head_revision() == ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert at_head(engine)


def test_a_database_behind_the_head_is_migrated_by_the_next_process(engine: Engine) -> None:
    from alembic import command

    command.downgrade(alembic_config(engine), "0010")
    assert not at_head(engine)
    url = engine.url.render_as_string(hide_password=False)
    subprocess.run([sys.executable, "-c", f"from sajang.db.engine import get_engine; get_engine({url!r})"],
                   check=True, cwd=Path(__file__).resolve().parent.parent, timeout=300)
    assert at_head(engine)
    assert "recipient" in {c["name"] for c in inspect(engine).get_columns("outbox")}  # 0011's column is back


def test_money_is_exact_and_timestamps_are_utc(engine: Engine) -> None:
    kst = timezone(timedelta(hours=9))
    with session_scope(engine) as s:
        s.add(Customer(id="C-1", name="홍길동"))
        s.flush()
        s.add(Order(id="O-1", customer_id="C-1", ordered_at=datetime(2026, 11, 24, 9, 30, tzinfo=kst),
                    amount=Decimal("123456789.00")))
    with session_scope(engine) as s:
        order = s.scalars(select(Order)).one()
        assert order.amount == Decimal("123456789")
        assert isinstance(order.amount, Decimal)
        assert order.ordered_at == datetime(2026, 11, 24, 0, 30, tzinfo=UTC)
        assert order.ordered_at.tzinfo is not None


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with pytest.raises(Exception, match="naive datetime"), session_scope(engine) as s:
        s.add(Customer(id="C-2", joined_at=datetime(2026, 1, 1)))
        s.flush()


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    with pytest.raises(Exception), session_scope(engine) as s:  # noqa: B017 - driver-specific IntegrityError
        s.add(Order(id="O-2", customer_id="nobody", ordered_at=datetime.now(UTC), amount=Decimal(1)))
        s.flush()


def test_a_pooled_connection_the_server_dropped_is_replaced_after_idling(engine: Engine,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool pings a connection at checkout only after it sat idle (not on every checkout); one the
    server killed meanwhile is replaced without the caller seeing an error."""
    if engine.dialect.name != "postgresql":
        pytest.skip("a server-side connection to kill: PostgreSQL only")
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from sajang.db import engine as engine_module

    with engine.connect() as conn:  # the pooled connection, back in the pool afterwards
        victim = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    outside = create_engine(engine.url, poolclass=NullPool)
    with outside.connect() as killer:
        assert killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim}).scalar()
    outside.dispose()
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.0)  # it counts as idle now
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() != victim
