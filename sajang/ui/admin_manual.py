"""`/admin` → 매뉴얼 공개 범위: which manual articles customers may read and which stay for agents (as Channel
Talk does). A table of the articles (title, category, who may read it, whether the admin switched it) and
the switch for one article (고객 공개 / 상담원 전용 / 원래대로). Saves through `sajang.services.manual`
(validated, audited, in effect from the customer's next message; translations follow their article); the
owner is `request.username`. The tab mounts itself (`ManualTab(settings).mount(...)` inside the page's
`gr.Tabs`) with its own load and language handlers."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from sajang.config import Settings
from sajang.errors import SajangError
from sajang.services import manual
from sajang.ui.i18n import CATEGORY_LABELS, Strings, label
from sajang.ui.staff import request_member

T = Strings({
    "tab": {"ko": "매뉴얼 공개 범위", "en": "Manual visibility"},
    "intro": {"ko": "고객에게 보여줄 글과 상담원만 볼 글을 정해요. 상담원 전용 글은 상담원 화면(추천 문서, 매뉴얼 검색)에만 "
                    "나오고, 고객 답변에는 한 줄도 쓰이지 않아요. 바꾸면 고객의 바로 다음 메시지부터 적용되고, 누가·언제 "
                    "바꿨는지 기록돼요. 영어 번역본(.en)은 원문과 함께 바뀌어요.",
              "en": "Choose which articles customers may read and which stay for agents. An agents-only article "
                    "shows in the agent hub (recommended articles, manual search) and never in a customer's answer. "
                    "A change applies from the customer's very next message and is recorded with who and when. "
                    "English translations (.en) follow their article."},
    "article": {"ko": "문서", "en": "Article"},
    "audience": {"ko": "공개 범위", "en": "Visibility"},
    "customers": {"ko": "고객 공개", "en": "Customers"},
    "agents": {"ko": "상담원 전용", "en": "Agents only"},
    "default": {"ko": "원래대로 (문서에 적힌 대로)", "en": "As written (front matter)"},
    "save": {"ko": "저장", "en": "Save"},
    "col_id": {"ko": "ID", "en": "ID"},
    "col_title": {"ko": "제목", "en": "Title"},
    "col_category": {"ko": "분류", "en": "Category"},
    "col_audience": {"ko": "공개 범위", "en": "Visibility"},
    "col_set": {"ko": "설정", "en": "Set by"},
    "by_admin": {"ko": "관리자 변경 (원래: {written})", "en": "Admin (written: {written})"},
    "as_written": {"ko": "문서 그대로", "en": "As written"},
    "now": {"ko": "지금: **{audience}** · {how}", "en": "Now: **{audience}** · {how}"},
    "saved": {"ko": "저장했어요: 「{title}」 {before} → {after}{also}. 고객의 다음 메시지부터 적용돼요.",
              "en": "Saved: “{title}” {before} → {after}{also}. Applies from the customer's next message."},
    "saved_same": {"ko": "저장했어요: 「{title}」 {after}{how} (공개 범위는 그대로예요).",
                   "en": "Saved: “{title}” stays {after}{how}."},
    "also": {"ko": " (번역본 {ids} 함께)", "en": " (with {ids})"},
    "how_admin": {"ko": ", 관리자 설정", "en": ", set by the admin"},
    "how_written": {"ko": ", 문서에 적힌 대로", "en": ", as written"},
    "pick": {"ko": "바꿀 문서를 고르세요.", "en": "Pick an article first."},
    "invalid": {"ko": "저장하지 않았어요: {error}", "en": "Not saved: {error}"},
    "empty": {"ko": "매뉴얼이 아직 없어요. `sajang import manual` 로 불러오세요.",
              "en": "No manual yet: import one with `sajang import manual`."},
    "login_needed": {"ko": "관리자 로그인이 필요합니다.", "en": "Admin login required."},
})
CHOICES = ("customers", "agents", "default")


def articles_frame(rows: list[manual.ArticleAudience], locale: str) -> pd.DataFrame:
    cols = [T(c, locale) for c in ("col_title", "col_category", "col_audience", "col_set", "col_id")]
    data = [[a.title, label(CATEGORY_LABELS, a.category, locale) or "-", T(a.audience, locale),
             T("by_admin", locale, written=T(a.written, locale)) if a.overridden else T("as_written", locale), a.id]
            for a in rows]
    return pd.DataFrame(data, columns=cols)


def article_choices(rows: list[manual.ArticleAudience]) -> list[tuple[str, str]]:
    return [(f"{a.title} ({a.id})", a.id) for a in rows]


def now_text(article: manual.ArticleAudience | None, locale: str) -> str:
    if article is None:
        return ""
    how = T("by_admin", locale, written=T(article.written, locale)) if article.overridden else T("as_written", locale)
    return T("now", locale, audience=T(article.audience, locale), how=how)


def change_text(change: manual.AudienceChange, locale: str) -> str:
    art = change.article
    if not change.changed:
        return T("saved_same", locale, title=art.title, after=T(art.audience, locale),
                 how=T("how_admin" if art.overridden else "how_written", locale))
    also = T("also", locale, ids=", ".join(change.translations)) if change.translations else ""
    return T("saved", locale, title=art.title, before=T(change.before, locale), after=T(art.audience, locale),
             also=also)


class ManualTab:
    """The 매뉴얼 공개 범위 tab of `/admin`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _admin(self, request: gr.Request | None) -> str | None:
        member = request_member(self.settings, request, roles=("admin",))
        return member.username if member else None

    def mount(self, locale: str, locale_st: gr.State, lang: gr.Radio, demo: gr.Blocks) -> None:
        """Add the tab to the page's `gr.Tabs` (call inside it) with its load and language handlers."""
        with gr.Tab(T("tab", locale), id="manual", elem_id="sj-tab-manual") as tab:
            self.build(tab, locale, locale_st, lang, demo)

    def build(self, tab: gr.Tab, locale: str, locale_st: gr.State, lang: gr.Radio, demo: gr.Blocks) -> None:
        intro = gr.Markdown(T("intro", locale))
        with gr.Row(equal_height=True):
            article = gr.Dropdown([], label=T("article", locale), elem_id="sj-manual-article", scale=3,
                                  filterable=True)
            audience = gr.Radio([(T(c, locale), c) for c in CHOICES], value=None, label=T("audience", locale),
                                elem_id="sj-manual-audience", scale=3)
            save = gr.Button(T("save", locale), variant="primary", elem_id="sj-manual-save", scale=0, min_width=120)
        current = gr.Markdown("", elem_id="sj-manual-now")
        note = gr.Markdown("", elem_id="sj-manual-note")
        table = gr.Dataframe(interactive=False, wrap=True, max_height=520, elem_id="sj-manual-table")

        def view(locale: str, chosen: str | None) -> list[Any]:
            rows = manual.list_articles(self.settings)
            ids = {a.id: a for a in rows}
            keep = chosen if chosen in ids else None
            return [gr.Dropdown(choices=article_choices(rows), value=keep),
                    now_text(ids.get(keep) if keep else None, locale),
                    articles_frame(rows, locale) if rows else pd.DataFrame({T("col_title", locale): [T("empty", locale)]})]

        outputs = [article, current, table]

        def on_load(locale: str, request: gr.Request) -> list[Any]:
            if self._admin(request) is None:
                return [gr.update(), T("login_needed", locale), pd.DataFrame()]
            return view(locale, None)

        demo.load(on_load, [locale_st], outputs)

        def on_pick(chosen: str | None, locale: str) -> list[Any]:
            found = next((a for a in manual.list_articles(self.settings) if a.id == chosen), None)
            if found is None:
                return ["", gr.update(value=None)]
            return [now_text(found, locale), gr.update(value=found.audience if found.overridden else "default")]

        article.input(on_pick, [article, locale_st], [current, audience])

        def on_save(chosen: str | None, choice: str | None, locale: str, request: gr.Request) -> list[Any]:
            actor = self._admin(request)
            if actor is None:
                return [gr.update(), gr.update(), gr.update(), T("login_needed", locale)]
            if not chosen:
                return [gr.update(), gr.update(), gr.update(), T("pick", locale)]
            try:
                change = manual.set_audience(self.settings, chosen, choice or "", actor=actor)
            except SajangError as exc:
                return [gr.update(), gr.update(), gr.update(), T("invalid", locale, error=str(exc))]
            return [*view(locale, chosen), change_text(change, locale)]

        save.click(on_save, [article, audience, locale_st], [*outputs, note], concurrency_limit=1)

        def on_lang(new: str, chosen: str | None, choice: str | None) -> list[Any]:
            loc = new if new in ("ko", "en") else self.settings.locale
            return [gr.Tab(label=T("tab", loc)), T("intro", loc), gr.Dropdown(label=T("article", loc)),
                    gr.Radio(choices=[(T(c, loc), c) for c in CHOICES], value=choice, label=T("audience", loc)),
                    gr.Button(T("save", loc)), "", *view(loc, chosen)[1:]]

        lang.change(on_lang, [lang, article, audience], [tab, intro, article, audience, save, note, current, table])
