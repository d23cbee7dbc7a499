"""A small page for an area whose UI has not landed yet: says what it is and who may enter."""

from __future__ import annotations

import gradio as gr

from sajang.ui.i18n import Strings

T = Strings({
    "agent_title": {"ko": "상담원 허브", "en": "Agent hub"},
    "agent_who": {"ko": "상담원과 관리자(사장님)만 들어올 수 있습니다.",
                  "en": "Agents and the admin (owner) may enter."},
    "admin_title": {"ko": "사장님 대시보드", "en": "Owner dashboard"},
    "admin_who": {"ko": "관리자(사장님)만 들어올 수 있습니다.", "en": "Only the admin (owner) may enter."},
    "soon": {"ko": "이 화면은 준비 중입니다.", "en": "This screen is being prepared."},
    "hello": {"ko": "{name}님, 로그인되었습니다.", "en": "Logged in as {name}."},
    "logout": {"ko": "로그아웃", "en": "Log out"},
})


def build_placeholder(area: str, locale: str = "ko") -> gr.Blocks:
    """`area`: "agent" or "admin"."""
    with gr.Blocks(title=T(f"{area}_title", locale)) as blocks:
        gr.Markdown(f"# {T(f'{area}_title', locale)}\n\n{T(f'{area}_who', locale)}\n\n{T('soon', locale)}")
        who = gr.Markdown()
        gr.HTML(f'<a href="/logout">{T("logout", locale)}</a>')

        def greet(request: gr.Request) -> str:
            return T("hello", locale, name=request.username or "?")

        blocks.load(greet, None, who)
    return blocks
