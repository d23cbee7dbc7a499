"""REST API `/api/v1`: one thin router per area in `sajang/app/api/<area>.py`.

Conventions every area follows (reviews, dashboard, segments … add theirs the same way):

- the module defines `router = APIRouter(prefix="/<area>", tags=["<area>"], dependencies=[...])` with the
  role it needs: `Depends(require_agent)` (agents and the admin) or `Depends(require_admin)` from
  `sajang.app.deps`; per-route `AgentDep` / `AdminDep` / `CustomerDep` give the caller;
- `SettingsDep` and `EngineDep` (from `sajang.app.deps`) give the app's settings and engine; routes stay
  thin: they validate, call the area's service/query function, and map the result to a pydantic model
  (`response_model` / return annotation) — no SQL in the route;
- errors: raise `sajang.errors.SajangError` / `NotFound` / `Forbidden` / `Conflict` (or `DataError`):
  the app turns them into `{"code", "message"}` with the right 4xx status; never let a 500 escape;
- path ids: `ThreadId`, `RowId` from `sajang.app.schemas` (bounded, so bad ids are a 422, not a DB error);
  text fields use `SafeStr`/`MessageText` (no NUL, valid Unicode, length caps);
- register the module by adding it to `AREAS` below (one line).
"""

from __future__ import annotations

from fastapi import APIRouter

from sajang.app.api import admin, agent, attachments, auth, chat, dashboard, qna, reviews, segments

# One line per area (this order is the order of the OpenAPI document).
AREAS = (auth, chat, attachments, agent, admin, dashboard, segments, reviews, qna)


def build_api_router() -> APIRouter:
    api = APIRouter(prefix="/api/v1")
    for area in AREAS:
        api.include_router(area.router)
    return api
