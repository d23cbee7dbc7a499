"""The store policy the admin edits: shop name, fees, thresholds, cut-off, return window, CS hours and phone,
courier (`SAJANG_STORE__*` in the environment; what the admin saves in `shop_settings` overrides it).

One rule in one place for the admin screen, `/api/v1/admin/settings` and `sajang settings`: keys are the
lower-case names of the README's `SAJANG_STORE__*` variables; values arrive as text or JSON values and are
validated here; every change is one audit row with who, when, and each field's old and new value. Nothing
is cached: the inquiry graph reads the policy once per message, the review draft and the coupon message
when they are written, so a change counts from the very next answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sajang.config import Settings, StorePolicy
from sajang.db.queries import shop_setting_history, shop_setting_row, update_shop_setting
from sajang.errors import SajangError
from sajang.graphs.common.context import engine_for

SETTING_KEY = "store_policy"
KEYS: tuple[str, ...] = tuple(StorePolicy.model_fields)
MONEY_KEYS = frozenset({"delivery_fee", "free_shipping_threshold", "return_fee", "exchange_fee"})
MAX_MONEY = Decimal(10_000_000)
MAX_TEXT = {"shop_name": 60, "cs_hours": 120, "cs_phone": 30, "courier": 40}
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_PHONE = re.compile(r"^[0-9+()\- ]{3,30}$")

LABELS: dict[str, dict[str, str]] = {
    "shop_name": {"ko": "상호", "en": "Shop name"},
    "delivery_fee": {"ko": "배송비 (원)", "en": "Delivery fee (KRW)"},
    "free_shipping_threshold": {"ko": "무료배송 기준 금액 (원)", "en": "Free shipping from (KRW)"},
    "dispatch_cutoff": {"ko": "당일 출고 마감 (HH:MM)", "en": "Same-day dispatch cut-off (HH:MM)"},
    "return_fee": {"ko": "반품 배송비 (원, 편도)", "en": "Return fee (KRW, one way)"},
    "exchange_fee": {"ko": "교환 배송비 (원, 왕복)", "en": "Exchange fee (KRW, both ways)"},
    "return_window_days": {"ko": "반품·교환 기간 (수령 후 일)", "en": "Return window (days after delivery)"},
    "cs_hours": {"ko": "고객센터 운영 시간", "en": "CS hours"},
    "cs_phone": {"ko": "고객센터 전화번호", "en": "CS phone"},
    "courier": {"ko": "택배사", "en": "Courier"},
}


class InvalidSetting(SajangError):
    code = "invalid_setting"
    status_code = 422


@dataclass(frozen=True)
class SettingChange:
    key: str
    old: Any
    new: Any


@dataclass(frozen=True)
class StoreSettingsView:
    """The policy in effect: `values` (JSON-ready), which keys the admin `overridden`, the environment's
    `defaults`, who saved last and when, and the recent `history` (newest first)."""

    values: dict[str, Any]
    defaults: dict[str, Any]
    overridden: list[str]
    updated_by: str | None = None
    updated_at: datetime | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"values": self.values, "defaults": self.defaults, "overridden": self.overridden,
                "updated_by": self.updated_by,
                "updated_at": self.updated_at.isoformat() if self.updated_at else None,
                "history": [{**h, "at": h["at"].isoformat() if isinstance(h.get("at"), datetime) else h.get("at")}
                            for h in self.history]}


@dataclass(frozen=True)
class UpdateResult:
    changes: list[SettingChange]
    settings: StoreSettingsView

    def as_dict(self) -> dict[str, Any]:
        return {"changes": [{"key": c.key, "old": c.old, "new": c.new} for c in self.changes],
                "settings": self.settings.as_dict()}


def _json_ready(policy: StorePolicy) -> dict[str, Any]:
    """Money as whole won (ints, exact), the rest as is."""
    out: dict[str, Any] = {}
    for key in KEYS:
        value = getattr(policy, key)
        out[key] = int(value) if isinstance(value, Decimal) else value
    return out


def check_key(key: str) -> str:
    name = (key or "").strip().lower().removeprefix("sajang_store__")
    if name not in KEYS:
        raise InvalidSetting(f"unknown setting {key!r}; keys: {', '.join(KEYS)}")
    return name


def parse_value(key: str, raw: Any) -> Any:
    """A setting's value from text or a JSON value, or InvalidSetting with the reason."""
    key = check_key(key)
    if key in MONEY_KEYS:
        text = str(raw).strip().replace(",", "").removesuffix("원").strip() if not isinstance(raw, bool) else "x"
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise InvalidSetting(f"{key}: {raw!r} is not an amount in won (e.g. 3000)") from None
        if not amount.is_finite() or amount != amount.to_integral_value():
            raise InvalidSetting(f"{key}: {raw!r} must be whole won")
        if not Decimal(0) <= amount <= MAX_MONEY:
            raise InvalidSetting(f"{key}: {raw!r} must be between 0 and {MAX_MONEY:,}")
        return int(amount)
    if key == "return_window_days":
        text = str(raw).strip().removesuffix("일").strip() if not isinstance(raw, bool) else "x"
        if not re.fullmatch(r"\d{1,3}", text) or not 1 <= int(text) <= 365:
            raise InvalidSetting(f"{key}: {raw!r} must be a whole number of days from 1 to 365")
        return int(text)
    if not isinstance(raw, str):
        raise InvalidSetting(f"{key}: expected text, got {type(raw).__name__}")
    text = " ".join(raw.split())  # one line: it is quoted inside sentences
    if not text:
        raise InvalidSetting(f"{key}: must not be empty")
    if len(text) > MAX_TEXT.get(key, 200):
        raise InvalidSetting(f"{key}: at most {MAX_TEXT.get(key, 200)} characters")
    if "\x00" in text or any(ord(ch) < 32 for ch in text):
        raise InvalidSetting(f"{key}: control characters are not allowed")
    if key == "dispatch_cutoff":
        if re.fullmatch(r"\d:\d\d", text):
            text = "0" + text
        if not _HHMM.match(text):
            raise InvalidSetting(f"{key}: {raw!r} must be a time HH:MM (e.g. 14:00)")
    if key == "cs_phone" and not _PHONE.match(text):
        raise InvalidSetting(f"{key}: {raw!r} is not a phone number (digits, spaces, -, +, parentheses)")
    return text


def show(settings: Settings, history: int = 10) -> StoreSettingsView:
    """The store policy in effect now, with what the admin changed and the last changes."""
    engine = engine_for(settings)
    row = shop_setting_row(engine, SETTING_KEY)
    saved = row["value"] if row else {}
    policy = settings.store.overridden(saved)
    return StoreSettingsView(values=_json_ready(policy), defaults=_json_ready(settings.store),
                             overridden=[k for k in KEYS if k in saved],
                             updated_by=row["updated_by"] if row else None,
                             updated_at=row["updated_at"] if row else None,
                             history=shop_setting_history(engine, SETTING_KEY, history) if history else [])


def update(settings: Settings, changes: Mapping[str, Any], actor: str, reset: list[str] | None = None
           ) -> UpdateResult:
    """Validate and save `changes` (key → value); `reset` keys go back to the environment's value.
    Everything is checked before anything is written; a value equal to the one in effect is no change."""
    if not changes and not reset:
        raise InvalidSetting("nothing to change: give at least one key and value")
    parsed = {check_key(k): parse_value(k, v) for k, v in changes.items()}
    unset = [check_key(k) for k in reset or []]
    if set(parsed) & set(unset):
        raise InvalidSetting(f"{', '.join(sorted(set(parsed) & set(unset)))}: both set and reset")
    before, after = update_shop_setting(engine_for(settings), SETTING_KEY, parsed, unset, actor,
                                        action="store_policy.update", defaults=_json_ready(settings.store))
    old, new = _json_ready(settings.store.overridden(before)), _json_ready(settings.store.overridden(after))
    done = [SettingChange(k, old[k], new[k]) for k in KEYS if (k in parsed or k in unset) and old[k] != new[k]]
    return UpdateResult(changes=done, settings=show(settings))


def current_policy(settings: Settings) -> StorePolicy:
    """The policy every answer, draft and coupon message uses (environment + the admin's saved values)."""
    return settings.store.overridden((shop_setting_row(engine_for(settings), SETTING_KEY) or {}).get("value"))


__all__ = ["KEYS", "LABELS", "InvalidSetting", "SettingChange", "StoreSettingsView", "UpdateResult", "check_key",
           "current_policy", "parse_value", "show", "update"]
