"""Column types shared by every table: UTC timestamps and exact money on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes in UTC; SQLite returns naive values, so UTC is attached on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def Money() -> Numeric[Decimal]:
    """Exact decimal money (KRW by default; two places so other currencies fit)."""
    return Numeric(14, 2, asdecimal=True)


_clock_shift = timedelta(0)  # set only by `clock_at` (an evaluation of a demo shop seeded for another day)


def utcnow() -> datetime:
    """Now, in UTC: the one clock the bot reads ("어제 주문한 거", CS hours, the waiting note)."""
    return datetime.now(UTC) + _clock_shift


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Run as if it were `moment` now (the clock goes on from there), for the whole process: a demo shop
    seeded for a fixed day is read as of that day, whatever the date the evaluation runs on."""
    global _clock_shift
    before = _clock_shift
    _clock_shift = moment - datetime.now(UTC)
    try:
        yield
    finally:
        _clock_shift = before
