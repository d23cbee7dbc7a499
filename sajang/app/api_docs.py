"""`/api/v1/docs`: the REST API's reference as one HTML page rendered here from the OpenAPI document.

FastAPI's default page loads Swagger UI's scripts and styles from a CDN (a blank page offline, and a
request leaving the machine); no installed package bundles those assets, so this page is plain HTML with
no script: per tag, each operation with its method, path, summary, who may call it, parameters, request
body and responses, and a link to the machine-readable `/api/v1/openapi.json`. Korean by default,
`?lang=en` for English.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse

LABELS = {
    "ko": {"title": "Sajang REST API 문서", "spec": "OpenAPI 문서 (JSON)", "params": "매개변수", "body": "요청 본문",
           "responses": "응답", "auth": "로그인 필요 (Bearer 토큰)", "public": "공개", "required": "필수",
           "switch": "English", "other": "기타"},
    "en": {"title": "Sajang REST API reference", "spec": "OpenAPI document (JSON)", "params": "Parameters",
           "body": "Request body", "responses": "Responses", "auth": "Needs a bearer token", "public": "Public",
           "required": "required", "switch": "한국어", "other": "Other"},
}
_CSS = """
body{font-family:'Noto Sans KR','Nanum Gothic',system-ui,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#1f2328;color:#fff;padding:16px 32px;display:flex;gap:24px;align-items:baseline}
header a{color:#9ecbff}main{max-width:1100px;margin:0 auto;padding:16px 32px}
nav a{margin-right:12px}h2{border-bottom:2px solid #d0d7de;padding-bottom:4px;margin-top:32px}
details{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:8px 0;padding:8px 12px}
summary{cursor:pointer;font-family:ui-monospace,monospace}.m{display:inline-block;min-width:64px;font-weight:700}
.get{color:#0969da}.post{color:#1a7f37}.put,.patch{color:#9a6700}.delete{color:#cf222e}
.s{font-family:system-ui,sans-serif;color:#57606a;margin-left:8px}.lock{color:#9a6700}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left;font-size:14px}
code{background:#eff1f3;padding:1px 4px;border-radius:4px}
"""


def _schema_name(schema: dict[str, Any] | None) -> str:
    if not schema:
        return ""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"[{_schema_name(schema.get('items'))}]"
    if "anyOf" in schema:
        return " | ".join(_schema_name(s) for s in schema["anyOf"])
    return str(schema.get("type", ""))


def _operation(method: str, path: str, op: dict[str, Any], text: dict[str, str]) -> str:
    lock = f'<span class="lock">🔒 {text["auth"]}</span>' if op.get("security") else text["public"]
    parts = [f'<details><summary><span class="m {method}">{method.upper()}</span>{escape(path)}'
             f'<span class="s">{escape(op.get("summary", ""))}</span></summary>',
             f"<p>{lock}</p>"]
    if op.get("description"):
        parts.append(f"<p>{escape(op['description'])}</p>")
    params = op.get("parameters", [])
    if params:
        rows = "".join(f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p.get('in', ''))}</td>"
                       f"<td>{escape(_schema_name(p.get('schema')))}</td>"
                       f"<td>{text['required'] if p.get('required') else ''}</td></tr>" for p in params)
        parts.append(f"<h4>{text['params']}</h4><table>{rows}</table>")
    body = op.get("requestBody", {}).get("content", {})
    if body:
        kinds = ", ".join(f"<code>{escape(ct)}</code> {escape(_schema_name(c.get('schema')))}" for ct, c in body.items())
        parts.append(f"<h4>{text['body']}</h4><p>{kinds}</p>")
    responses = op.get("responses", {})
    if responses:
        rows = "".join(
            f"<tr><td>{escape(code)}</td><td>{escape(r.get('description', ''))}</td><td>"
            f"{escape(', '.join(_schema_name(c.get('schema')) for c in r.get('content', {}).values()))}</td></tr>"
            for code, r in sorted(responses.items()))
        parts.append(f"<h4>{text['responses']}</h4><table>{rows}</table>")
    parts.append("</details>")
    return "".join(parts)


def render_docs(spec: dict[str, Any], lang: str) -> str:
    text = LABELS.get(lang, LABELS["ko"])
    by_tag: dict[str, list[str]] = {}
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            tag = (op.get("tags") or [text["other"]])[0]
            by_tag.setdefault(tag, []).append(_operation(method, path, op, text))
    info = spec.get("info", {})
    other = "en" if lang != "en" else "ko"
    nav = " ".join(f'<a href="#{escape(tag)}">{escape(tag)}</a>' for tag in by_tag)
    sections = "".join(f'<h2 id="{escape(tag)}">{escape(tag)}</h2>{"".join(ops)}' for tag, ops in by_tag.items())
    return (f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{text['title']}</title><style>{_CSS}</style></head><body>"
            f"<header><strong>{text['title']}</strong><span>v{escape(str(info.get('version', '')))}</span>"
            f'<a href="/api/v1/openapi.json">{text["spec"]}</a><a href="?lang={other}">{text["switch"]}</a></header>'
            f"<main><p>{escape(str(info.get('description', '')))}</p><nav>{nav}</nav>{sections}</main></body></html>")


def install_docs(app: FastAPI) -> None:
    """Serve the page at /api/v1/docs (create the app with `docs_url=None`)."""

    @app.get("/api/v1/docs", include_in_schema=False)
    def docs(lang: Annotated[str, Query(max_length=5)] = "ko") -> HTMLResponse:
        return HTMLResponse(render_docs(app.openapi(), lang),
                            headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})
