"""Who is signed in, as a Gradio handler sees it (the web app's login puts the username on the request)."""

from __future__ import annotations

import gradio as gr

from sajang.config import Settings
from sajang.services.accounts import AGENT_ROLES, StaffMember, staff_member


def request_member(settings: Settings, request: gr.Request | None,
                   roles: tuple[str, ...] = AGENT_ROLES) -> StaffMember | None:
    """The active staff member behind `request` when their role is one of `roles`, else None."""
    return staff_member(settings, getattr(request, "username", None), roles=roles)
