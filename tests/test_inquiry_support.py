"""Shared data of the inquiry tests (no tests here): two customers with one order each, agents, and a
slice of the real CS manual."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from sajang.config import Settings
from sajang.db.engine import session_scope
from sajang.db.models import Claim, Customer, Order, OrderItem, User

MANUAL = Path(__file__).resolve().parent.parent / "sajang" / "data" / "manual"
# A slice of the real manual: enough to answer, small enough to index quickly.
ARTICLES = ["return-fee", "refund-timing", "delivery-tracking", "delivery-fee", "exchange-policy", "cs-hours",
            "defect-spoiled", "payment-methods", "coupons", "cancel-before-dispatch"]
A, B = "C-90001", "C-90002"
A_ORDER, B_ORDER = "O-20261120-90001", "O-20261121-90002"
A_TRACK, B_TRACK = "639900112233", "640055667788"


def seed_rows(engine: Engine) -> None:
    now = datetime.now(UTC)
    with session_scope(engine) as s:
        s.add_all([Customer(id=A, name="김하나", phone="010-1111-2222", email="hana@example.com"),
                   Customer(id=B, name="박두리", phone="010-3333-4444", email="duri@example.com")])
        s.flush()
        s.add_all([
            Order(id=A_ORDER, customer_id=A, ordered_at=now - timedelta(days=2), amount=Decimal("32000"),
                  status="shipping", courier="CJ대한통운", tracking_no=A_TRACK, shipped_at=now - timedelta(days=1),
                  recipient_name="김하나", address="서울특별시 마포구 월드컵로 10"),
            Order(id=B_ORDER, customer_id=B, ordered_at=now - timedelta(days=1), amount=Decimal("54000"),
                  status="shipping", courier="한진택배", tracking_no=B_TRACK, shipped_at=now - timedelta(hours=5),
                  recipient_name="박두리", address="부산광역시 해운대구 센텀로 20"),
        ])
        s.flush()
        s.add_all([OrderItem(order_id=A_ORDER, product_name="순살 갈비탕", quantity=2, unit_price=Decimal("16000"),
                             amount=Decimal("32000")),
                   OrderItem(order_id=B_ORDER, product_name="왕만두 1kg", quantity=3, unit_price=Decimal("18000"),
                             amount=Decimal("54000")),
                   Claim(id="CL-90002", order_id=B_ORDER, customer_id=B, type="exchange", status="in_progress",
                         reason="맛 변경")])
        s.add(User(username="agent", display_name="김민지", role="agent", password_hash="x"))
        s.add(User(username="agent2", display_name="이서연", role="agent", password_hash="x"))


def seed_store(settings: Settings, engine: Engine, tmp_path: Path) -> Settings:
    """Customers, orders, agents and the manual slice imported into the knowledge base."""
    from sajang.knowledge.service import get_knowledge

    seed_rows(engine)
    src = tmp_path / "manual"
    src.mkdir(exist_ok=True)
    for name in ARTICLES:
        if (MANUAL / f"{name}.md").exists():
            shutil.copy(MANUAL / f"{name}.md", src / f"{name}.md")
    get_knowledge(settings).import_manual_dir(src)
    return settings


def seed_llm_store(engine: Engine, tmp_path: Path, monkeypatch: Any, base_url: str) -> Settings:
    """Settings for the chat model and the embeddings of the local OpenAI-compatible stub at `base_url`
    (tests/openai_stub_server.py), with the store seeded through them."""
    from sajang.config import get_settings

    monkeypatch.setenv("SAJANG_CHAT_MODEL", "stub-gpt")
    monkeypatch.setenv("OPENAI_BASE_URL", base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("SAJANG_EMBEDDINGS", "openai")
    monkeypatch.setenv("SAJANG_EMBEDDING_MODEL", "stub-embed")
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.llm_enabled and settings.openai_base_url == base_url
    return seed_store(settings, engine, tmp_path)
