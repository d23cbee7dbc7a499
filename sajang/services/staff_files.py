"""Files made for staff (the admin's outbox CSV export): kept in the data dir, never in Gradio's temporary
directory, where any mounted Gradio app (the public `/chat` too) would serve them to anyone with the URL.

A file is written 0600 under `<data_dir>/staff_files/<role>/<token>/`, downloaded through the
authenticated route `/staff/files/{token}` (session cookie of a user with that role, `sajang.app.main`),
and deleted after STAFF_FILE_TTL_S by `sweep`, which every new file and every download runs.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from sajang.config import Settings
from sajang.errors import NotFound

STAFF_FILE_TTL_S = 600.0  # long enough to click the link, short enough that nothing piles up
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
ROLES_ALLOWED = {"admin": ("admin",), "agent": ("agent", "admin")}  # who may download a file made for a role


def staff_files_root(settings: Settings) -> Path:
    return Path(settings.data_dir) / "staff_files"


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def sweep(settings: Settings, now: float | None = None) -> int:
    """Delete staff files older than STAFF_FILE_TTL_S; the number deleted."""
    root = staff_files_root(settings)
    if not root.is_dir():
        return 0
    now = time.time() if now is None else now
    deleted = 0
    for role_dir in root.iterdir():
        for token_dir in role_dir.iterdir() if role_dir.is_dir() else ():
            try:
                if now - token_dir.stat().st_mtime > STAFF_FILE_TTL_S:
                    shutil.rmtree(token_dir, ignore_errors=True)
                    deleted += 1
            except FileNotFoundError:
                continue
    return deleted


def write_staff_file(settings: Settings, role: str, filename: str, write: Callable[[TextIO], int],
                     encoding: str = "utf-8-sig") -> tuple[str, int]:
    """Write a file for staff of `role` with `write(fh)` (returns a count); (token, count). Nothing is kept
    when the count is 0."""
    if role not in ROLES_ALLOWED or not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", filename):
        raise ValueError(f"bad staff file {role}/{filename}")
    sweep(settings)
    token = secrets.token_urlsafe(24)
    folder = _private_dir(_private_dir(_private_dir(staff_files_root(settings)) / role) / token)
    path = folder / filename
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
        count = write(fh)
    if not count:
        shutil.rmtree(folder, ignore_errors=True)
    return token, count


def staff_file(settings: Settings, token: str, user_role: str) -> Path:
    """The file behind `token` when a user of `user_role` may have it; `NotFound` otherwise (someone else's
    file looks exactly like a missing one)."""
    sweep(settings)
    if _TOKEN.match(token or ""):
        for role, allowed in ROLES_ALLOWED.items():
            folder = staff_files_root(settings) / role / token
            if user_role in allowed and folder.is_dir():
                for path in folder.iterdir():
                    if path.is_file():
                        return path
    raise NotFound("no such file (links expire after 10 minutes)", code="file_not_found")


def download_url(token: str) -> str:
    return f"/staff/files/{token}"
