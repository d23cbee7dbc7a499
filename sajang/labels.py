"""Korean / English labels of the ids DESIGN.md fixes (inquiry categories, urgency).

Kept at the package root, beside `config`, because both the UIs and the graphs (handoff summaries)
show them and graphs may not import `ui`.
"""

from __future__ import annotations

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
