"""The admin's switch of who may read a manual article (issue #15): the service, REST
(`/api/v1/admin/manual/articles`), the CLI (`sajang kb articles|audience`), and its effect from the customer's
very next message while agents keep seeing the article.

Run on both databases:
    pytest tests/test_manual_audience.py
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test pytest tests/test_manual_audience.py
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from sajang.config import Settings
from sajang.db.models import AuditLog
from sajang.errors import NotFound
from sajang.services import manual
from sajang.services.manual import InvalidAudience

MANUAL = Path(__file__).resolve().parent.parent / "sajang" / "data" / "manual"
STAFF_NOTES = ("id: staff-notes\ntitle: 상담원 메모 작성 요령\ncategory: other\naudience: agents\n---\n"
               "## 메모\n상담 메모에는 고객의 요청과 약속한 처리 날짜를 적습니다.\n")


def _import(settings: Settings, src: Path, names: list[str]) -> None:
    from sajang.knowledge.service import get_knowledge

    src.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(MANUAL / f"{name}.md", src / f"{name}.md")
    (src / "staff-notes.md").write_text(STAFF_NOTES, encoding="utf-8")
    get_knowledge(settings).import_manual_dir(src)


@pytest.fixture
def small_manual(settings: Settings, tmp_path: Path) -> Settings:
    """Three articles: one for customers with its English translation, one written for agents only."""
    _import(settings, tmp_path / "manual", ["return-fee", "return-fee.en"])
    return settings


def _audits(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(AuditLog.actor, AuditLog.details).where(
            AuditLog.target_type == "shop_setting", AuditLog.target_id == "manual_audience").order_by(AuditLog.id))
        return [{"actor": r.actor, **(r.details or {})} for r in rows]


def _by_id(settings: Settings) -> dict[str, manual.ArticleAudience]:
    return {a.id: a for a in manual.list_articles(settings)}


def test_service_lists_switches_resets_and_audits(small_manual: Settings, engine: Engine) -> None:
    settings = small_manual
    arts = _by_id(settings)
    assert sorted(arts) == ["return-fee", "return-fee.en", "staff-notes"]
    assert (arts["return-fee"].title, arts["return-fee"].category) == ("반품 배송비 계산", "return_refund")
    assert [(a.written, a.audience, a.overridden) for a in arts.values()] == [
        ("customers", "customers", False), ("customers", "customers", False), ("agents", "agents", False)]

    change = manual.set_audience(settings, "return-fee", "agents", actor="minji")
    assert change.changed and change.before == "customers" and change.translations == ["return-fee.en"]
    assert change.article.as_dict() == {"id": "return-fee", "title": "반품 배송비 계산", "category": "return_refund",
                                        "written": "customers", "audience": "agents", "overridden": True}
    arts = _by_id(settings)
    assert arts["return-fee.en"].audience == "agents" and arts["return-fee.en"].overridden  # the translation follows
    assert _audits(engine) == [{"actor": "minji", "agents": ["return-fee", "return-fee.en"], "customers": []}]

    again = manual.set_audience(settings, "return-fee", "agents", actor="minji")
    assert not again.changed and len(_audits(engine)) == 1  # nothing changed: nothing written

    # an article written for agents can be opened to customers, and given back to its front matter
    opened = manual.set_audience(settings, "staff-notes", " Customers ", actor="admin")
    assert opened.changed and opened.before == "agents" and opened.translations == []
    assert _by_id(settings)["staff-notes"].audience == "customers"
    back = manual.set_audience(settings, "staff-notes", "default", actor="admin")
    assert back.before == "customers" and back.article.audience == "agents" and not back.article.overridden
    manual.set_audience(settings, "return-fee", "default", actor="admin")
    assert all(not a.overridden for a in manual.list_articles(settings))
    assert _audits(engine)[-1] == {"actor": "admin", "agents": [], "customers": []}

    with pytest.raises(NotFound, match="'no-such-article' not found"):
        manual.set_audience(settings, "no-such-article", "agents", actor="admin")
    with pytest.raises(InvalidAudience, match="agents, customers, default"):
        manual.set_audience(settings, "return-fee", "everyone", actor="admin")
    assert len(_audits(engine)) == 4  # the two refused: nothing written


def test_rest_routes_are_admin_only_and_explain_bad_input(small_manual: Settings, engine: Engine) -> None:
    from sajang.app.main import create_app
    from sajang.db.users import get_user_by_username
    from sajang.security import issue_staff_token
    from sajang.services.accounts import claims_for, ensure_demo_users

    ensure_demo_users(engine)

    def headers(username: str) -> dict[str, str]:
        user = get_user_by_username(engine, username)
        assert user is not None
        return {"Authorization": f"Bearer {issue_staff_token(small_manual, claims_for(user))}"}

    url = "/api/v1/admin/manual/articles"
    with TestClient(create_app(small_manual, mount_ui=False), raise_server_exceptions=False) as client:
        assert client.get(url).status_code == 401
        assert client.get(url, headers=headers("agent")).status_code == 403
        assert client.put(f"{url}/return-fee/audience", headers=headers("agent"),
                          json={"audience": "agents"}).status_code == 403
        listed = client.get(url, headers=headers("admin"))
        assert listed.status_code == 200
        assert {a["id"]: a["audience"] for a in listed.json()} == {
            "return-fee": "customers", "return-fee.en": "customers", "staff-notes": "agents"}

        put = client.put(f"{url}/return-fee/audience", headers=headers("admin"), json={"audience": "agents"})
        assert put.status_code == 200, put.text
        assert put.json() == {"article": {"id": "return-fee", "title": "반품 배송비 계산", "category": "return_refund",
                                          "written": "customers", "audience": "agents", "overridden": True},
                              "before": "customers", "changed": True, "translations": ["return-fee.en"]}
        assert _audits(engine)[-1]["actor"] == "admin"

        missing = client.put(f"{url}/nope/audience", headers=headers("admin"), json={"audience": "agents"})
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"
        bad = client.put(f"{url}/return-fee/audience", headers=headers("admin"), json={"audience": "public"})
        assert bad.status_code == 422 and "audience" in bad.text
        extra = client.put(f"{url}/return-fee/audience", headers=headers("admin"),
                           json={"audience": "agents", "note": "x"})
        assert extra.status_code == 422
        back = client.put(f"{url}/return-fee/audience", headers=headers("admin"), json={"audience": "default"})
        assert back.status_code == 200 and back.json()["article"]["overridden"] is False
    assert not _by_id(small_manual)["return-fee"].overridden


def test_cli_lists_and_switches(small_manual: Settings, cli: Any) -> None:
    r = cli("kb", "audience", "staff-notes", "customers", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["before"] == "agents" and out["changed"] is True
    assert out["article"]["written"] == "agents" and out["article"]["audience"] == "customers"
    listed = json.loads(cli("kb", "articles", "--json").stdout)["articles"]
    assert {a["id"]: (a["audience"], a["overridden"]) for a in listed} == {
        "return-fee": ("customers", False), "return-fee.en": ("customers", False), "staff-notes": ("customers", True)}
    r = cli("kb", "audience", "nope", "agents")
    assert r.returncode == 1 and "'nope' not found" in r.stderr and "Traceback" not in r.stderr


def test_a_switch_counts_from_the_next_message_and_agents_still_see_the_article(settings: Settings, engine: Engine,
                                                                              tmp_path: Path) -> None:
    """Asked through the inquiry service in one conversation: answered from the article, then (switched to
    agents) not a line of it nor its title, in Korean or English, while the agent's hub still recommends it
    and the manual search still finds it; switched back, the next message is answered from it again."""
    from test_inquiry_support import ARTICLES, seed_rows

    from sajang.knowledge.service import get_knowledge
    from sajang.services.inquiry import inquiries

    seed_rows(engine)
    _import(settings, tmp_path / "manual", [*ARTICLES, "return-fee.en"])
    api = inquiries(settings)
    question, fact = "반품할 때 배송비는 얼마나 드나요?", "최대 6,000원"

    first = api.ask(question)
    assert fact in (first.answer or "") and [s["id"] for s in first.sources] == ["return-fee"]
    thread = first.thread_id

    manual.set_audience(settings, "return-fee", "agents", actor="admin")
    hidden = api.ask(question, thread_id=thread)  # the same conversation's next message
    assert "6,000원" not in (hidden.answer or "") and "한 상자로" not in (hidden.answer or "")
    assert all(s["id"] not in ("return-fee", "return-fee.en") for s in hidden.sources)
    english = api.ask("How much is the return shipping fee?")
    assert "6,000 won" not in (english.answer or "")
    assert all(s["id"] not in ("return-fee", "return-fee.en") for s in english.sources)
    # the agent still sees it: the hub's recommended articles for this conversation, and the manual search
    recommended = api.recommended_articles(api.conversation(thread), k=3)
    assert "return-fee" in [h.id for h in recommended]
    assert get_knowledge(settings).search(question, k=3).hits[0].id == "return-fee"

    manual.set_audience(settings, "return-fee", "default", actor="admin")
    restored = api.ask(question, thread_id=thread)
    assert fact in (restored.answer or "") and "return-fee" in [s["id"] for s in restored.sources]
