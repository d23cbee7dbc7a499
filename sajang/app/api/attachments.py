"""`/api/v1/attachments/{id}`: an attachment's bytes, for staff, the conversation's customer, or a signed link."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from sajang.app.deps import Customer, PrincipalDep, SettingsDep, Staff
from sajang.app.schemas import ErrorOut, RowId
from sajang.errors import NotFound, Unauthorized
from sajang.security import check_attachment_signature
from sajang.services.attachments import get_attachment

router = APIRouter(prefix="/attachments", tags=["attachments"])


@router.get("/{attachment_id}", response_class=FileResponse,
            responses={200: {"content": {"image/*": {}}}, 401: {"model": ErrorOut}, 404: {"model": ErrorOut},
                       422: {"model": ErrorOut}},
            summary="An attachment (staff; the conversation's customer token; or a signed link `sig`)")
def download(attachment_id: RowId, settings: SettingsDep, principal: PrincipalDep,
             sig: Annotated[str | None, Query(max_length=512)] = None) -> FileResponse:
    if principal is None and not sig:
        raise Unauthorized("login, a chat token or a signed link is required")
    att, path = get_attachment(settings, attachment_id)
    allowed = isinstance(principal, Staff) or (isinstance(principal, Customer) and principal.thread_id == att.thread_id)
    if not allowed and sig:
        allowed = check_attachment_signature(settings, sig, attachment_id) == att.thread_id
    if not allowed:
        # Someone else's attachment looks exactly like a missing one.
        raise NotFound("no such attachment")
    ext = path.suffix
    return FileResponse(path, media_type=att.content_type, filename=f"attachment-{att.id}{ext}",
                        content_disposition_type="inline",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600",
                                 "Content-Security-Policy": "default-src 'none'; sandbox"})
