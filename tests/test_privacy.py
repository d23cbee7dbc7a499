"""Personal data: photos stored without EXIF, a customer's export and erasure (books and aggregates
unchanged, audit kept), the retention purge, and a backup restored on the test's database (SQLite's
online backup or pg_dump/pg_restore)."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin
from sqlalchemy import Engine, func, select

from sajang.config import Settings
from sajang.db.engine import dispose_all, session_scope
from sajang.db.models import (
    Attachment,
    AuditLog,
    Claim,
    Conversation,
    Customer,
    Message,
    Order,
    OutboxMessage,
    Review,
)
from sajang.db.types import utcnow
from sajang.graphs.common.checkpoint import get_checkpointer
from sajang.services.attachments import get_attachment, save_attachment, strip_metadata
from sajang.services.inquiry import inquiries
from sajang.services.privacy import ERASED, purge
from tests.test_inquiry_support import A_ORDER, A, B, seed_rows

GPS_IFD = 0x8825


def jpeg_with_gps(size: tuple[int, int] = (40, 20), orientation: int = 6) -> bytes:
    exif = Image.Exif()
    exif[0x0110] = "Galaxy S24"  # camera model
    exif[0x0112] = orientation  # rotated 90° on display
    exif[GPS_IFD] = {1: "N", 2: (37.0, 33.0, 59.0), 3: "E", 4: (126.0, 58.0, 41.0)}
    buf = io.BytesIO()
    Image.new("RGB", size, "orange").save(buf, format="JPEG", exif=exif.tobytes(), quality=90)
    return buf.getvalue()


def test_photos_are_stored_without_exif_and_upright(settings: Settings, engine: Engine) -> None:
    original = jpeg_with_gps()
    with Image.open(io.BytesIO(original)) as img:
        assert img.getexif().get_ifd(GPS_IFD)  # the test photo does carry a position
    thread = inquiries(settings).start(None, guest_name="손님")
    stored, path = get_attachment(settings, save_attachment(settings, thread, "photo.jpg", original).id)
    data = path.read_bytes()
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG" and len(img.getexif()) == 0 and "exif" not in img.info
        assert img.size == (20, 40)  # turned as the phone showed it
    assert stored.size == len(data) and stored.size != len(original)
    # PNG text chunks go too; an image without metadata is stored byte for byte
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "집 주소: 서울 마포구")
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, format="PNG", pnginfo=info)
    with Image.open(io.BytesIO(strip_metadata(buf.getvalue()))) as img:
        assert "Comment" not in img.info
    clean = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(clean, format="PNG")
    assert strip_metadata(clean.getvalue()) == clean.getvalue()


def _totals(engine: Engine) -> tuple[Decimal, int, int, int, int]:
    with session_scope(engine) as s:
        return (s.scalar(select(func.sum(Order.amount)).where(Order.customer_id == A)) or Decimal(0),
                s.scalar(select(func.count()).select_from(Order)) or 0,
                s.scalar(select(func.count()).select_from(Conversation)) or 0,
                s.scalar(select(func.count()).select_from(Review).where(Review.rating == 1)) or 0,
                s.scalar(select(func.count()).select_from(Claim)) or 0)


@pytest.mark.slow
def test_export_then_forget_keeps_the_books(settings: Settings, engine: Engine, cli) -> None:  # type: ignore[no-untyped-def]
    seed_rows(engine)
    api = inquiries(settings)
    thread = api.start(A)
    api.ask("제 주소 서울 마포구 월드컵로 10 맞나요? 갈비탕이 상해서 왔어요", customer_id=A, thread_id=thread)
    photo = save_attachment(settings, thread, "상한갈비탕.jpg", jpeg_with_gps())
    _, photo_path = get_attachment(settings, photo.id)
    with session_scope(engine) as s:
        s.add(Review(id="R-1", customer_id=A, order_id=A_ORDER, rating=1, text="김하나입니다, 상했어요"))
        s.add(Claim(id="CL-A", order_id=A_ORDER, customer_id=A, type="refund", reason="상함, 010-1111-2222로 연락"))
        s.add(OutboxMessage(customer_id=A, text="김하나님, 쿠폰 드려요"))
    assert get_checkpointer(settings).get_tuple({"configurable": {"thread_id": thread, "checkpoint_ns": ""}})
    before = _totals(engine)

    exported = cli("privacy", "export", A, "--json")
    assert exported.returncode == 0, exported.stderr
    doc = json.loads(exported.stdout)
    assert doc["customer"]["name"] == "김하나" and doc["orders"][0]["address"].startswith("서울")
    assert any("월드컵로" in m["text"] for m in doc["conversations"][0]["messages"])
    assert doc["conversations"][0]["attachments"][0]["filename"] == "상한갈비탕.jpg"
    assert {r["id"] for r in doc["reviews"]} == {"R-1"} and doc["queued_messages"]

    done = cli("privacy", "forget", A, "--yes", "--json")
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)
    assert counts["conversations"] == 1 and counts["attachments"] == 1 and counts["checkpoints"] == 1
    assert _totals(engine) == before  # revenue, orders, conversations, 1★ reviews, claims: unchanged
    after = json.loads(cli("privacy", "export", A, "--json").stdout)
    text = json.dumps(after, ensure_ascii=False)
    for personal in ("김하나", "010-1111-2222", "hana@example.com", "월드컵로", "마포구", "상한갈비탕"):
        assert personal not in text, personal
    assert after["orders"][0]["amount"] == doc["orders"][0]["amount"]
    assert not photo_path.exists()
    assert get_checkpointer(settings).get_tuple({"configurable": {"thread_id": thread, "checkpoint_ns": ""}}) is None
    with session_scope(engine) as s:
        assert {m.text for m in s.scalars(select(Message))} == {ERASED}
        assert s.get(Customer, B).name == "박두리"  # nobody else touched
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "privacy.forget")).one()
        assert audit.target_id == A and "김하나" not in json.dumps(audit.details, ensure_ascii=False)
    assert cli("privacy", "forget", "C-NOPE", "--yes").returncode == 1


def test_purge_follows_the_retention_settings(settings: Settings, engine: Engine) -> None:
    seed_rows(engine)
    api = inquiries(settings)
    old_closed, old_open, recent = api.start(A), api.start(B), api.start(None, guest_name="손님")
    photos = {t: save_attachment(settings, t, "p.png", _png()) for t in (old_closed, old_open, recent)}
    paths = {t: get_attachment(settings, a.id)[1] for t, a in photos.items()}
    now = utcnow()
    with session_scope(engine) as s:
        for thread, status, age in ((old_closed, "resolved", 1200), (old_open, "new", 1200), (recent, "bot", 10)):
            conv = s.scalars(select(Conversation).where(Conversation.thread_id == thread)).one()
            conv.status, conv.updated_at = status, now - timedelta(days=age)
            s.add(Message(conversation_id=conv.id, role="customer", text="안녕하세요"))
        for att in s.scalars(select(Attachment)):
            att.created_at = now - timedelta(days=400 if att.id != photos[recent].id else 10)
        s.add_all([OutboxMessage(customer_id=A, text="old", created_at=now - timedelta(days=200)),
                   OutboxMessage(customer_id=B, text="new", created_at=now - timedelta(days=5))])
    result = purge(settings)
    assert result.as_dict() == {"conversations": 1, "attachments": 2, "queued_messages": 1, "checkpoints": 1}
    assert not paths[old_closed].exists() and not paths[old_open].exists() and paths[recent].exists()
    with session_scope(engine) as s:
        assert set(s.scalars(select(Conversation.thread_id))) == {old_open, recent}  # a person's queue stays
        assert [o.text for o in s.scalars(select(OutboxMessage))] == ["new"]
        assert s.scalars(select(AuditLog).where(AuditLog.action == "privacy.purge")).one().details["conversations"] == 1
    keep_all = settings.model_copy(update={"retention_conversations_days": 0, "retention_attachments_days": 0,
                                           "retention_outbox_days": 0})
    assert purge(keep_all, now=now + timedelta(days=5000)).as_dict() == {
        "conversations": 0, "attachments": 0, "queued_messages": 0, "checkpoints": 0}


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(buf, format="PNG")
    return buf.getvalue()


def test_backup_then_restore(settings: Settings, engine: Engine, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed_rows(engine)
    thread = inquiries(settings).start(A)
    photo = save_attachment(settings, thread, "p.png", _png())
    _, photo_path = get_attachment(settings, photo.id)
    secret = (settings.data_dir / "secret_key")
    secret.write_text("k" * 64)
    archive = tmp_path / "backups" / "shop.tar.gz"
    made = cli("backup", "--out", str(archive), "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["database"] == ("postgresql" if settings.is_postgres else "sqlite")
    assert archive.stat().st_mode & 0o077 == 0  # holds the secret key and customers' data
    assert cli("backup", "--out", str(archive)).returncode == 1  # never overwrites

    # the disaster: a customer erased, the photo and the key lost
    with session_scope(engine) as s:
        s.get(Customer, B).name = "바뀐 이름"
        s.add(Customer(id="C-AFTER", name="백업 뒤 고객"))
    photo_path.unlink()
    secret.unlink()
    dispose_all()
    restored = cli("restore", str(archive), "--yes", "--json")
    assert restored.returncode == 0, restored.stderr
    with session_scope(engine) as s:
        assert s.get(Customer, B).name == "박두리" and s.get(Customer, "C-AFTER") is None
        assert s.get(Customer, A).phone == "010-1111-2222"
    assert photo_path.read_bytes() == _png() and secret.read_text() == "k" * 64
    bad = tmp_path / "not-a-backup.tar.gz"
    bad.write_bytes(b"hello")
    out = cli("restore", str(bad), "--yes")
    assert out.returncode == 1 and "not a Sajang backup" in out.stderr
