"""`/admin` → 상점 설정: the store policy form (shop name, fees, thresholds, cut-off, return window, CS hours and
phone, courier) and its change history. Saves through `sajang.services.store_settings` (validated, audited,
used from the next answer); the owner is `request.username`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import gradio as gr
import pandas as pd

from sajang.config import Settings
from sajang.errors import SajangError
from sajang.services import store_settings
from sajang.services.store_settings import KEYS, LABELS, MONEY_KEYS
from sajang.ui.i18n import Strings
from sajang.ui.staff import request_member

T = Strings({
    "title": {"ko": "상점 설정", "en": "Store settings"},
    "intro": {"ko": "여기서 바꾼 값은 다음 답변, 리뷰 답글 초안, 쿠폰 메시지부터 바로 쓰여요. 바꾼 내용은 누가·언제·무엇을 "
                    "바꿨는지 기록돼요.",
              "en": "Values saved here are used from the next answer, review draft and coupon message on. Every "
                    "change is recorded with who, when and what."},
    "save": {"ko": "저장", "en": "Save"},
    "reload": {"ko": "되돌리기 (저장된 값)", "en": "Revert to saved"},
    "saved": {"ko": "저장했어요: {changes}", "en": "Saved: {changes}"},
    "unchanged": {"ko": "바뀐 값이 없어요.", "en": "Nothing changed."},
    "invalid": {"ko": "저장하지 않았어요: {error}", "en": "Not saved: {error}"},
    "login_needed": {"ko": "관리자 로그인이 필요합니다.", "en": "Admin login required."},
    "history": {"ko": "변경 기록", "en": "Change history"},
    "col_at": {"ko": "일시", "en": "When"},
    "col_actor": {"ko": "변경한 사람", "en": "By"},
    "col_key": {"ko": "항목", "en": "Setting"},
    "col_old": {"ko": "이전 값", "en": "Old"},
    "col_new": {"ko": "새 값", "en": "New"},
    "default_note": {"ko": "기본값(환경 설정): {value}", "en": "Default (environment): {value}"},
})


def key_label(key: str, locale: str) -> str:
    return LABELS[key].get(locale) or LABELS[key]["ko"]


def _shown(key: str, value: Any) -> str:
    return f"{int(value):,}" if key in MONEY_KEYS and value is not None else "" if value is None else str(value)


def history_frame(history: list[dict[str, Any]], locale: str) -> pd.DataFrame:
    cols = [T(c, locale) for c in ("col_at", "col_actor", "col_key", "col_old", "col_new")]
    rows = []
    for h in history:
        at = h["at"]
        when = at.astimezone().strftime("%Y-%m-%d %H:%M") if isinstance(at, datetime) else str(at)[:16]
        for key, change in ((h.get("details") or {}).get("changes") or {}).items():
            if key in LABELS:
                rows.append([when, h["actor"], key_label(key, locale), _shown(key, change.get("old")),
                             _shown(key, change.get("new"))])
    return pd.DataFrame(rows, columns=cols)


def changes_text(changes: list[store_settings.SettingChange], locale: str) -> str:
    return ", ".join(f"{key_label(c.key, locale)} {_shown(c.key, c.old)} → {_shown(c.key, c.new)}" for c in changes)


class SettingsTab:
    """Built inside the admin page's `gr.Tab`; registers its own load and language handlers."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _admin(self, request: gr.Request | None) -> str | None:
        member = request_member(self.settings, request, roles=("admin",))
        return member.username if member else None

    def build(self, locale: str, locale_st: gr.State, lang: gr.Radio, demo: gr.Blocks) -> None:
        intro = gr.Markdown(T("intro", locale))
        fields: dict[str, gr.Textbox | gr.Number] = {}
        with gr.Group(elem_id="sj-settings-form"):
            for row_keys in (("shop_name", "courier"), ("delivery_fee", "free_shipping_threshold", "dispatch_cutoff"),
                             ("return_fee", "exchange_fee", "return_window_days"), ("cs_phone", "cs_hours")):
                with gr.Row():
                    for key in row_keys:
                        if key in MONEY_KEYS or key == "return_window_days":
                            fields[key] = gr.Number(label=key_label(key, locale), precision=0, minimum=0,
                                                    elem_id=f"sj-set-{key}", scale=1)
                        else:
                            fields[key] = gr.Textbox(label=key_label(key, locale), max_lines=1,
                                                     elem_id=f"sj-set-{key}", scale=2 if key == "cs_hours" else 1)
        with gr.Row():
            save = gr.Button(T("save", locale), variant="primary", elem_id="sj-settings-save", scale=0, min_width=140)
            reload = gr.Button(T("reload", locale), variant="secondary", scale=0, min_width=200)
        note = gr.Markdown("", elem_id="sj-settings-note")
        history = gr.Dataframe(label=T("history", locale), interactive=False, wrap=True, max_height=300,
                               elem_id="sj-settings-history")
        inputs = [fields[k] for k in KEYS]

        def values(locale: str) -> list[Any]:
            view = store_settings.show(self.settings, history=30)
            return [*[gr.update(value=view.values[k], info=T("default_note", locale, value=_shown(k, view.defaults[k]))
                                if k in view.overridden else None) for k in KEYS],
                    history_frame(view.history, locale)]

        def on_load(locale: str, request: gr.Request) -> list[Any]:
            if self._admin(request) is None:
                return [*[gr.update()] * len(KEYS), pd.DataFrame()]
            return values(locale)

        demo.load(on_load, [locale_st], [*inputs, history])
        reload.click(lambda locale: [*values(locale), ""], [locale_st], [*inputs, history, note])

        def on_save(locale: str, raw: list[Any], request: gr.Request | None) -> list[Any]:
            actor = self._admin(request)
            if actor is None:
                return [*[gr.update()] * len(KEYS), gr.update(), T("login_needed", locale)]
            current = store_settings.show(self.settings, history=0).values
            changes = {k: ("" if v is None else v) for k, v in zip(KEYS, raw, strict=True)
                       if _differs(k, v, current[k])}
            if not changes:
                return [*values(locale), T("unchanged", locale)]
            try:
                result = store_settings.update(self.settings, changes, actor=actor)
            except SajangError as exc:
                return [*[gr.update()] * len(KEYS), gr.update(), T("invalid", locale, error=str(exc))]
            done = T("saved", locale, changes=changes_text(result.changes, locale)) if result.changes \
                else T("unchanged", locale)
            return [*values(locale), done]

        # explicit parameters: Gradio passes the request to a parameter annotated gr.Request
        def save_handler(locale: str, shop_name: Any, delivery_fee: Any, free_shipping_threshold: Any,
                         dispatch_cutoff: Any, return_fee: Any, exchange_fee: Any, return_window_days: Any,
                         cs_hours: Any, cs_phone: Any, courier: Any, request: gr.Request) -> list[Any]:
            return on_save(locale, [shop_name, delivery_fee, free_shipping_threshold, dispatch_cutoff, return_fee,
                                    exchange_fee, return_window_days, cs_hours, cs_phone, courier], request)

        save.click(save_handler, [locale_st, *inputs], [*inputs, history, note], concurrency_limit=1)

        def on_lang(new: str) -> list[Any]:
            loc = new if new in ("ko", "en") else self.settings.locale
            view = store_settings.show(self.settings, history=30)
            return [T("intro", loc), *[gr.update(label=key_label(k, loc)) for k in KEYS], gr.Button(T("save", loc)),
                    gr.Button(T("reload", loc)),
                    gr.Dataframe(value=history_frame(view.history, loc), label=T("history", loc))]

        lang.change(on_lang, [lang], [intro, *inputs, save, reload, history])


def _differs(key: str, raw: Any, current: Any) -> bool:
    """Only fields the owner edited are sent: an untouched field is never re-saved as an override."""
    if raw is None or raw == "":
        return current not in (None, "")
    if key in MONEY_KEYS or key == "return_window_days":
        try:
            return float(raw) != float(current)
        except (TypeError, ValueError):
            return True
    return " ".join(str(raw).split()) != str(current)
