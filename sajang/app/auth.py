"""Moved to `sajang.services.accounts` (below the UIs); this name stays for callers not yet updated."""

from sajang.services.accounts import (
    DEMO_USERS,
    authenticate,
    change_password,
    claims_for,
    create_account,
    ensure_demo_users,
    forget_user,
    resolve_staff,
    validate_role,
    validate_username,
)

__all__ = ["DEMO_USERS", "authenticate", "change_password", "claims_for", "create_account", "ensure_demo_users",
           "forget_user", "resolve_staff", "validate_role", "validate_username"]
