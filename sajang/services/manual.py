"""Who may read each manual article (as Channel Talk does): the admin's switch per article, for `/admin` →
매뉴얼 공개 범위, `/api/v1/admin/manual/articles` and `sajang kb articles|audience`.

An article is written for customers or for agents (front matter `audience: agents`, kept in the body as
`AGENTS_ONLY_MARK`); the admin can make it agents-only or customer-facing whatever it says, or send it back
to what it says (`default`). The switch is the shop setting `manual_audience` (audited); the inquiry graph
reads it once per message, so it counts from the customer's very next message. Agents keep seeing every
article (the hub's recommended articles and the manual search); a customer's answer, offline or from the
chat model, never quotes one the switch made agents-only.

Switching an article switches its translations with it (`return-fee` → `return-fee.en`): an English
customer must not read what the Korean one may not.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sajang.config import Settings
from sajang.db.engine import autocommit_connection
from sajang.db.errors import DataError
from sajang.errors import NotFound, SajangError
from sajang.graphs.inquiry.answering import TRANSLATION_SUFFIX
from sajang.knowledge.ingest import AUDIENCE_CHOICES, audience_overrides_in, set_article_audience
from sajang.knowledge.service import get_knowledge

AUDIENCES = ("customers", "agents")


class InvalidAudience(SajangError):
    code = "invalid_audience"
    status_code = 422


@dataclass(frozen=True)
class ArticleAudience:
    """One article: `written` is what its text says (customers | agents), `audience` who may read it now,
    `overridden` whether the admin's switch decides that."""

    id: str
    title: str
    category: str | None
    written: str
    audience: str
    overridden: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AudienceChange:
    """What one switch did: the article as it is now, who could read it `before`, and the translations
    switched with it."""

    article: ArticleAudience
    before: str
    translations: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.before != self.article.audience

    def as_dict(self) -> dict[str, Any]:
        return {"article": self.article.as_dict(), "before": self.before, "changed": self.changed,
                "translations": self.translations}


def _overrides(settings: Settings) -> dict[str, list[str]]:
    with autocommit_connection(get_knowledge(settings).engine) as conn:
        return audience_overrides_in(conn)


def _view(row: dict[str, Any], overrides: dict[str, list[str]]) -> ArticleAudience:
    written = "agents" if row["agents_only"] else "customers"
    # agents first, as `is_agents_only` reads it (an id in both lists of a hand-edited setting is internal)
    forced = next((a for a in ("agents", "customers") if row["id"] in overrides.get(a, ())), None)
    return ArticleAudience(id=row["id"], title=row["title"], category=row["category"], written=written,
                           audience=forced or written, overridden=forced is not None)


def list_articles(settings: Settings) -> list[ArticleAudience]:
    """Every manual article with the audience its text gives it and the one in effect."""
    overrides = _overrides(settings)
    return [_view(row, overrides) for row in get_knowledge(settings).article_audiences()]


def check_audience(value: str) -> str:
    choice = (value or "").strip().lower()
    if choice not in AUDIENCE_CHOICES:
        raise InvalidAudience(f"audience must be one of {', '.join(AUDIENCE_CHOICES)}, not {value!r}")
    return choice


def set_audience(settings: Settings, article_id: str, audience: str, actor: str) -> AudienceChange:
    """Make one article (and its translations) customer-facing or agents-only, or give it back its front
    matter's audience (`default`). Validated (unknown article → NotFound), audited, in effect from the next
    customer message."""
    choice = check_audience(audience)
    rows = {r["id"]: r for r in get_knowledge(settings).article_audiences()}
    aid = (article_id or "").strip()
    if aid not in rows:
        raise NotFound(f"manual article {article_id!r} not found")
    before = _view(rows[aid], _overrides(settings)).audience
    translations = [] if aid.endswith(TRANSLATION_SUFFIX) else \
        [x for x in (aid + TRANSLATION_SUFFIX,) if x in rows]
    try:
        overrides = set_article_audience(get_knowledge(settings).engine, aid, choice, actor,
                                         also=tuple(translations))
    except DataError as exc:  # checked above; kept as a 4xx should the rule there ever differ
        raise InvalidAudience(str(exc)) from None
    return AudienceChange(article=_view(rows[aid], overrides), before=before, translations=translations)


__all__ = ["AUDIENCES", "ArticleAudience", "AudienceChange", "InvalidAudience", "check_audience", "list_articles",
           "set_audience"]
