"""Customers as the chat, the agent hub and the REST routes see them: who a chat customer proves to be
(order number + last 4 phone digits, with its limits), a customer's profile and display names.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Iterable
from dataclasses import dataclass

from sajang.config import Settings
from sajang.db import profile as profile_db
from sajang.db import rfm
from sajang.db.engine import session_scope
from sajang.errors import NotFound, SajangError, Unauthorized
from sajang.graphs.common.context import engine_for
from sajang.graphs.inquiry.chat_verification import FAILURE_WINDOW, FAILURES_ALLOWED, attempt_verification
from sajang.security import member_hash
from sajang.services import ratelimit

# Four digits cannot be guessed by trying: attempts per client address a minute (this process), and
# failures per order number in the window, counted in the database (`chat_verification`: every process, the
# page, the API and the in-chat verification share them); a locked order refuses even the right digits.
VERIFY_PER_MINUTE_PER_IP = 10
VERIFY_FAILURES_PER_ORDER = FAILURES_ALLOWED
VERIFY_FAILURE_WINDOW_S = FAILURE_WINDOW.total_seconds()

CustomerProfile = profile_db.CustomerProfile


@dataclass(frozen=True)
class VerifiedCustomer:
    customer_id: str
    name: str | None


def verify_customer(settings: Settings, order_id: str, phone_last4: str, client_ip: str) -> VerifiedCustomer:
    """The customer who placed `order_id` when `phone_last4` ends their phone number.

    Raises `RateLimited` past the limits (a locked order: even with the right digits, until the lock
    expires) and `Unauthorized` (`verification_failed`) on a mismatch; only failures count towards the
    per-order limit."""
    order_id, phone_last4 = (order_id or "").strip(), (phone_last4 or "").strip()
    if not order_id or len(phone_last4) != 4 or not phone_last4.isdigit():
        raise SajangError("give both the order number and the last 4 digits of the phone",
                          code="validation_error", status_code=422)
    ratelimit.check("chat_verify_ip", client_ip, VERIFY_PER_MINUTE_PER_IP, what="verification attempts")
    with session_scope(engine_for(settings)) as s:
        result = attempt_verification(s, order_id, phone_last4)
    if result.outcome == "locked":
        raise ratelimit.RateLimited(f"too many failed verifications for this order: try again in "
                                    f"{max(1, math.ceil(result.retry_after_s))} s", result.retry_after_s)
    if result.customer_id is None:
        raise Unauthorized("the order number and phone digits do not match an order", code="verification_failed")
    return VerifiedCustomer(customer_id=result.customer_id, name=result.customer_name)


def customer_profile(settings: Settings, customer_id: str) -> CustomerProfile | None:
    """Totals, recent orders, claims, reviews and the latest segment of one customer (None if unknown)."""
    return profile_db.get_customer_profile(engine_for(settings), customer_id)


def customer_names(settings: Settings, customer_ids: Iterable[str]) -> dict[str, str]:
    return profile_db.customer_names(engine_for(settings), customer_ids)


def segment_label(segment: str | None, locale: str = "ko") -> str:
    return rfm.segment_label(segment, locale)


def verify_member(settings: Settings, member_id: str, given_hash: str, client_ip: str) -> VerifiedCustomer:
    """A logged-in member of the shop's site, identified by the widget: `given_hash` must be the hex
    HMAC-SHA256 of `member_id` with `SAJANG_WIDGET_SECRET` (the shop's server computes it, the browser
    only passes it on), and the member id must be a customer id of ours (as imported from the shop)."""
    if not settings.widget_secret:
        raise SajangError("signed member identity is not configured (SAJANG_WIDGET_SECRET)",
                          code="member_identity_off", status_code=422)
    ratelimit.check("chat_verify_ip", client_ip, VERIFY_PER_MINUTE_PER_IP, what="verification attempts")
    expected = member_hash(settings.widget_secret, member_id)
    if not hmac.compare_digest(expected, given_hash.lower()):
        raise Unauthorized("the member signature does not match the member id", code="bad_member_hash")
    name = customer_names(settings, [member_id]).get(member_id)
    if name is None:
        raise NotFound("no customer with this member id", code="member_unknown")
    return VerifiedCustomer(customer_id=member_id, name=name)

