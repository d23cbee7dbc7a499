"""The 학습된 답변 (learned answers) tab of the agent hub: list, search, who taught what from which
conversation, and undo (deactivate). Everything goes through the inquiry service API
(`sajang.services.inquiry`), the same undo as the CLI's `sajang feedback --undo`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import gradio as gr

from sajang.config import Settings
from sajang.services.accounts import StaffMember
from sajang.services.inquiry import inquiries
from sajang.ui.agent_render import render_learned
from sajang.ui.agent_strings import T

log = logging.getLogger(__name__)

LEARNED_JS = """
element.addEventListener('click', (e) => {
  const undo = e.target.closest('[data-undo]');
  if (undo) {
    if (window.confirm(undo.dataset.confirm || '')) { trigger('click', {undo: undo.dataset.undo}); }
    return;
  }
  const source = e.target.closest('[data-thread]');
  if (source) { trigger('click', {thread: source.dataset.thread}); }
});
"""


def _locale(me: dict[str, Any] | None, settings: Settings) -> str:
    return (me or {}).get("locale") or settings.locale


def learned_html(settings: Settings, me: dict[str, Any] | None, query: str, show_inactive: bool,
                 note: str = "") -> str:
    locale = _locale(me, settings)
    try:
        rows = inquiries(settings).learned_answers((query or "").strip() or None, active_only=not show_inactive)
    except Exception as exc:
        log.warning("learned answers unavailable: %s", exc)
        return render_learned([], locale, datetime.now(UTC), error=str(exc) or type(exc).__name__)
    html = render_learned(rows, locale, datetime.now(UTC))
    # the undo button asks first, in the agent's language
    html = html.replace('class="sj-undo"', f'class="sj-undo" data-confirm="{T("learned_undo_confirm", locale)}"')
    if note:
        html = f'<div class="sj-note sj-note-ok">{note}</div>' + html
    return html


def build_learned_tab(settings: Settings, me_state: gr.State, refresh_state: gr.State) -> gr.HTML:
    """Render the tab inside the current `gr.Tab`; `refresh_state` changes when a new answer is taught.

    Returns the listing: its click events carry `{undo: id}` (handled here) or `{thread: id}` (the hub
    opens that source conversation)."""
    loc = settings.locale
    help_md = gr.Markdown(T("learned_help", loc), elem_id="sj-learned-help")
    with gr.Row():
        query = gr.Textbox(label=T("learned_search", loc), scale=4, elem_id="sj-learned-search")
        inactive = gr.Checkbox(label=T("learned_inactive", loc), value=False, scale=1,
                               elem_id="sj-learned-inactive")
        refresh = gr.Button(T("learned_refresh", loc), scale=0, min_width=100, elem_id="sj-learned-refresh")
    listing = gr.HTML("", elem_id="sj-learned-list", js_on_load=LEARNED_JS)

    def show(me: dict[str, Any] | None, q: str, show_inactive: bool) -> str:
        return learned_html(settings, me, q, show_inactive)

    def undo(me: dict[str, Any] | None, q: str, show_inactive: bool, evt: gr.EventData) -> Any:
        data = evt._data or {}
        learned_id = data.get("undo")
        locale = _locale(me, settings)
        if not learned_id or not me or me.get("id") is None:
            return gr.skip()
        try:
            inquiries(settings).undo_learned(learned_id, StaffMember.from_state(me))
        except Exception as exc:
            gr.Warning(T("error", locale, error=getattr(exc, "message", None) or str(exc)))
            return learned_html(settings, me, q, show_inactive)
        return learned_html(settings, me, q, show_inactive, note=T("learned_undone", locale, id=learned_id))

    def relabel(me: dict[str, Any] | None) -> tuple[Any, ...]:
        locale = _locale(me, settings)
        return (T("learned_help", locale), gr.update(label=T("learned_search", locale)),
                gr.update(label=T("learned_inactive", locale)), gr.update(value=T("learned_refresh", locale)))

    inputs = [me_state, query, inactive]
    for trigger in (query.submit, inactive.change, refresh.click, refresh_state.change):
        trigger(show, inputs, listing, show_progress="hidden")
    me_state.change(show, inputs, listing, show_progress="hidden").then(
        relabel, me_state, [help_md, query, inactive, refresh], show_progress="hidden")
    listing.click(undo, inputs, listing)
    return listing
