"""Errors that reach a user as one clear line (CLI stderr, API 4xx), never as a traceback."""


class SajangError(Exception):
    """A problem the user can fix; `code` is the machine-readable id used by the API."""

    code = "error"
    status_code = 400

    def __init__(self, message: str, *, code: str | None = None, status_code: int | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code


class Unauthorized(SajangError):
    code = "unauthorized"
    status_code = 401


class NotFound(SajangError):
    code = "not_found"
    status_code = 404


class Forbidden(SajangError):
    code = "forbidden"
    status_code = 403


class Conflict(SajangError):
    code = "conflict"
    status_code = 409
