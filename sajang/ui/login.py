"""The staff login page and the "no access" page (plain HTML; the app serves them at /login)."""

from __future__ import annotations

from html import escape

from sajang.ui.i18n import Strings

T = Strings({
    "title": {"ko": "사장님 AI 매니저 · 로그인", "en": "Sajang AI manager · Log in"},
    "heading": {"ko": "직원 로그인", "en": "Staff login"},
    "sub": {"ko": "상담원 허브와 사장님 대시보드는 로그인 후 이용할 수 있습니다.",
            "en": "The agent hub and the owner dashboard need a login."},
    "username": {"ko": "아이디", "en": "Username"},
    "password": {"ko": "비밀번호", "en": "Password"},
    "submit": {"ko": "로그인", "en": "Log in"},
    "bad": {"ko": "아이디 또는 비밀번호가 올바르지 않습니다.", "en": "Wrong username or password."},
    "expired": {"ko": "페이지가 만료되었습니다. 다시 시도해 주세요.", "en": "The page expired. Please try again."},
    "limited": {"ko": "시도가 너무 많습니다. 잠시 후 다시 시도해 주세요.",
                "en": "Too many attempts. Please wait a moment."},
    "customer": {"ko": "고객이신가요? 채팅 상담으로 가기", "en": "Are you a customer? Go to the chat"},
    "switch": {"ko": "English", "en": "한국어"},
    "denied_title": {"ko": "접근 권한이 없습니다", "en": "No access"},
    "denied": {"ko": "{name}님({role})은 이 화면에 들어올 수 없습니다. {who}",
               "en": "{name} ({role}) may not open this screen. {who}"},
    "who_agent": {"ko": "상담원 또는 관리자만 들어올 수 있습니다.", "en": "Agents and the admin only."},
    "who_admin": {"ko": "관리자(사장님)만 들어올 수 있습니다.", "en": "The admin (owner) only."},
    "other_login": {"ko": "다른 계정으로 로그인", "en": "Log in as someone else"},
    "role_admin": {"ko": "관리자", "en": "admin"},
    "role_agent": {"ko": "상담원", "en": "agent"},
})

_STYLE = """
*{box-sizing:border-box}body{margin:0;font-family:'NanumGothic','Noto Sans KR','Apple SD Gothic Neo',
'Malgun Gothic',sans-serif;background:#f4f5f7;color:#1f2328;display:flex;min-height:100vh;
align-items:center;justify-content:center}
main{background:#fff;border-radius:14px;box-shadow:0 4px 24px rgba(0,0,0,.08);padding:36px 40px;
width:min(420px,92vw)}h1{font-size:22px;margin:0 0 6px}p.sub{color:#57606a;font-size:14px;margin:0 0 22px}
label{display:block;font-size:14px;font-weight:600;margin:14px 0 6px}
input{width:100%;padding:11px 12px;border:1px solid #d0d7de;border-radius:8px;font-size:15px}
button{margin-top:22px;width:100%;padding:12px;border:0;border-radius:8px;background:#ff7a00;color:#fff;
font-size:16px;font-weight:700;cursor:pointer}button:hover{background:#e56d00}
.err{background:#ffebe9;color:#a40e26;border-radius:8px;padding:10px 12px;font-size:14px;margin-bottom:8px}
.links{display:flex;justify-content:space-between;margin-top:18px;font-size:13px}a{color:#0969da}
"""


def _page(title: str, body: str, locale: str) -> str:
    return (f'<!doctype html><html lang="{locale}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body><main>{body}</main></body></html>")


def login_page(locale: str, next_path: str, csrf: str, error: str | None = None, username: str = "") -> str:
    other = "en" if locale == "ko" else "ko"
    err = f'<div class="err" role="alert">{escape(T(error, locale))}</div>' if error else ""
    body = f"""
<h1>{escape(T("heading", locale))}</h1><p class="sub">{escape(T("sub", locale))}</p>{err}
<form method="post" action="/login?lang={locale}">
<input type="hidden" name="next" value="{escape(next_path)}"><input type="hidden" name="csrf" value="{escape(csrf)}">
<label for="username">{escape(T("username", locale))}</label>
<input id="username" name="username" autocomplete="username" required maxlength="64" value="{escape(username)}" autofocus>
<label for="password">{escape(T("password", locale))}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256">
<button type="submit">{escape(T("submit", locale))}</button></form>
<div class="links"><a href="/chat">{escape(T("customer", locale))}</a>
<a href="/login?lang={other}&amp;next={escape(next_path)}">{escape(T("switch", locale))}</a></div>"""
    return _page(T("title", locale), body, locale)


def denied_page(locale: str, name: str, role: str, area: str) -> str:
    text = T("denied", locale, name=name, role=T(f"role_{role}", locale), who=T(f"who_{area}", locale))
    body = (f'<h1>{escape(T("denied_title", locale))}</h1><p class="sub">{escape(text)}</p>'
            f'<div class="links"><a href="/logout?next=/{area}">{escape(T("other_login", locale))}</a>'
            f'<a href="/chat">{escape(T("customer", locale))}</a></div>')
    return _page(T("denied_title", locale), body, locale)
