"""The 상용구 (canned replies) tab of the agent hub: the saved replies with their variables, and — for
the admin — add, edit, delete. Everything goes through `sajang.services.canned_replies` (the same rules
as `/api/v1/agent/canned-replies`: only the admin writes, titles are unique, each change is audited)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import gradio as gr

from sajang.config import Settings
from sajang.errors import SajangError
from sajang.services import canned_replies as cr
from sajang.services.accounts import StaffMember
from sajang.ui.agent_render import esc
from sajang.ui.agent_strings import T

log = logging.getLogger(__name__)
NEW = 0  # the picker's "(new reply)" entry


def _locale(me: dict[str, Any] | None, settings: Settings) -> str:
    return (me or {}).get("locale") or settings.locale


def variables_text() -> str:
    return " ".join("{" + v + "}" for v in cr.VARIABLES)


def canned_choices(settings: Settings) -> list[tuple[str, int]]:
    """The hub's picker: (title, id), by title; empty when the list cannot be read."""
    try:
        return [(r.title, r.id) for r in cr.list_replies(settings)]
    except Exception as exc:  # the page stays up; the picker is just empty
        log.warning("canned replies unavailable: %s", exc)
        return []


def canned_list_html(settings: Settings, locale: str, note: str = "", warn: bool = False) -> str:
    parts = ['<div class="sj-canned">']
    if note:
        parts.append(f'<div class="sj-note sj-note-{"warn" if warn else "ok"}">{esc(note)}</div>')
    replies = cr.list_replies(settings)
    if not replies:
        parts.append(f'<div class="sj-empty">{esc(T("canned_empty", locale))}</div>')
    for r in replies:
        parts.append(f'<div class="sj-citem" data-canned="{r.id}"><div class="sj-ctitle">{esc(r.title)}</div>'
                     f'<div class="sj-cbody">{esc(r.body)}</div></div>')
    parts.append("</div>")
    return "".join(parts)


class CannedTab:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def picker(self, locale: str) -> Any:
        return gr.update(choices=[(T("canned_new", locale), NEW), *canned_choices(self.settings)], value=NEW)

    def on_pick(self, me: dict[str, Any] | None, reply_id: int | None) -> tuple[Any, Any]:
        if not reply_id:
            return "", ""
        try:
            reply = cr.get_reply(self.settings, int(reply_id))
        except SajangError:
            return "", ""
        return reply.title, reply.body

    def on_save(self, me: dict[str, Any] | None, reply_id: int | None, title: str, body: str) -> tuple[Any, Any]:
        locale = _locale(me, self.settings)
        member = StaffMember.from_state(me) if me else None
        try:
            if reply_id:
                saved = cr.update_reply(self.settings, int(reply_id), member, title=title, body=body)
            else:
                saved = cr.create_reply(self.settings, title, body, member)
        except SajangError as exc:
            note = T("canned_admin_only", locale) if exc.status_code == 403 else str(exc)
            return canned_list_html(self.settings, locale, note, warn=True), gr.skip()
        picker = self.picker(locale)
        picker["value"] = saved.id
        return canned_list_html(self.settings, locale, T("canned_saved", locale, title=saved.title)), picker

    def on_delete(self, me: dict[str, Any] | None, reply_id: int | None) -> tuple[Any, Any, Any, Any]:
        locale = _locale(me, self.settings)
        if not reply_id:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        member = StaffMember.from_state(me) if me else None
        try:
            reply = cr.get_reply(self.settings, int(reply_id))
            cr.delete_reply(self.settings, int(reply_id), member)
        except SajangError as exc:
            note = T("canned_admin_only", locale) if exc.status_code == 403 else str(exc)
            return canned_list_html(self.settings, locale, note, warn=True), gr.skip(), gr.skip(), gr.skip()
        return (canned_list_html(self.settings, locale, T("canned_deleted", locale, title=reply.title)),
                self.picker(locale), "", "")

    def on_show(self, me: dict[str, Any] | None) -> tuple[Any, Any, Any]:
        locale = _locale(me, self.settings)
        help_text = T("canned_help", locale, vars=variables_text())
        return canned_list_html(self.settings, locale), self.picker(locale), help_text


def build_canned_tab(settings: Settings, me: gr.State) -> tuple[Callable[..., Any], list[Any]]:
    """The tab's contents (inside the caller's `gr.Tab`); returns the handler and outputs that refresh
    it, which the hub runs each time the tab is selected."""
    tab = CannedTab(settings)
    loc = settings.locale
    help_md = gr.Markdown(T("canned_help", loc, vars=variables_text()), elem_id="sj-canned-help")
    with gr.Row(elem_id="sj-canned-cols", equal_height=False):
        with gr.Column(scale=2):
            pick = gr.Dropdown([(T("canned_new", loc), NEW)], value=NEW, label=T("canned_pick", loc),
                               elem_id="sj-canned-pick")
            title = gr.Textbox(label=T("canned_title", loc), max_lines=1, elem_id="sj-canned-title")
            body = gr.Textbox(label=T("canned_body", loc), lines=5, max_lines=12, elem_id="sj-canned-body")
            with gr.Row():
                save = gr.Button(T("canned_save", loc), variant="primary", size="sm", elem_id="sj-canned-save")
                delete = gr.Button(T("canned_delete", loc), variant="stop", size="sm", elem_id="sj-canned-delete")
        with gr.Column(scale=3):
            listing = gr.HTML("", elem_id="sj-canned-list")
    pick.input(tab.on_pick, [me, pick], [title, body], show_progress="hidden")
    save.click(tab.on_save, [me, pick, title, body], [listing, pick])
    delete.click(tab.on_delete, [me, pick], [listing, pick, title, body])
    return tab.on_show, [listing, pick, help_md]
