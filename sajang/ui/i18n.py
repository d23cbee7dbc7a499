"""Korean-first UI strings with an English switch. Each UI module keeps its own table:

    T = Strings({"title": {"ko": "상담원 허브", "en": "Agent hub"}})
    T("title", "en")  -> "Agent hub";  T("count", "ko", n=3) formats with the keyword arguments
"""

from __future__ import annotations

from typing import Any

LOCALES = ("ko", "en")
LOCALE_LABELS = {"ko": "한국어", "en": "English"}

# Labels shared by every UI: DESIGN.md category, urgency and segment ids.
CATEGORY_LABELS: dict[str, dict[str, str]] = {
    "delivery": {"ko": "배송조회/지연", "en": "Delivery"},
    "exchange": {"ko": "교환", "en": "Exchange"},
    "return_refund": {"ko": "반품/환불", "en": "Return / refund"},
    "cancel": {"ko": "취소", "en": "Cancellation"},
    "damage_defect": {"ko": "파손/불량", "en": "Damaged / defective"},
    "stock": {"ko": "재고/입고", "en": "Stock / restock"},
    "product": {"ko": "상품문의", "en": "Product question"},
    "payment": {"ko": "결제", "en": "Payment"},
    "coupon_points": {"ko": "쿠폰/적립금", "en": "Coupons / points"},
    "human": {"ko": "상담원연결", "en": "Wants a person"},
    "other": {"ko": "기타", "en": "Other"},
}
URGENCY_LABELS: dict[str, dict[str, str]] = {
    "low": {"ko": "낮음", "en": "Low"},
    "normal": {"ko": "보통", "en": "Normal"},
    "high": {"ko": "높음", "en": "High"},
    "urgent": {"ko": "긴급", "en": "Urgent"},
}


class Strings:
    def __init__(self, table: dict[str, dict[str, str]]) -> None:
        self.table = table

    def __call__(self, key: str, locale: str = "ko", **kwargs: Any) -> str:
        entry = self.table.get(key)
        if entry is None:
            return key
        text = entry.get(locale) or entry["ko"]
        return text.format(**kwargs) if kwargs else text


def label(table: dict[str, dict[str, str]], key: str | None, locale: str = "ko") -> str:
    if not key:
        return ""
    entry = table.get(key)
    return (entry.get(locale) or entry["ko"]) if entry else key
