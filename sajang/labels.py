"""Korean / English labels of the ids DESIGN.md fixes (inquiry categories, urgency, order and claim
states). One wording for the bot's sentences and the agents' badges (English badges capitalise it).

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
ORDER_STATUS_LABELS: dict[str, dict[str, str]] = {
    "paid": {"ko": "결제 완료", "en": "paid"},
    "preparing": {"ko": "상품 준비 중", "en": "being prepared"},
    "shipping": {"ko": "배송 중", "en": "on its way"},
    "delivered": {"ko": "배송 완료", "en": "delivered"},
    "cancelled": {"ko": "주문 취소", "en": "cancelled"},
    "returned": {"ko": "반품 완료", "en": "returned"},
    "exchanged": {"ko": "교환 완료", "en": "exchanged"},
}
CLAIM_TYPE_LABELS: dict[str, dict[str, str]] = {
    "cancel": {"ko": "취소", "en": "cancellation"},
    "return": {"ko": "반품", "en": "return"},
    "exchange": {"ko": "교환", "en": "exchange"},
    "refund": {"ko": "환불", "en": "refund"},
}
CLAIM_STATUS_LABELS: dict[str, dict[str, str]] = {
    "requested": {"ko": "접수", "en": "received"},
    "in_progress": {"ko": "처리 중", "en": "in progress"},
    "completed": {"ko": "완료", "en": "completed"},
    "rejected": {"ko": "반려", "en": "declined"},
}

# Where a customer wrote (conversations.channel): the hub's badge for the messaging channels.
CHANNEL_LABELS: dict[str, dict[str, str]] = {
    "kakao": {"ko": "카카오톡", "en": "KakaoTalk"},
    "naver_talk": {"ko": "네이버 톡톡", "en": "Naver TalkTalk"},
    "widget": {"ko": "쇼핑몰 위젯", "en": "Site widget"},
}

