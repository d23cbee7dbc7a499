"""What the shop offers each customer segment, and what an admin may change before approving.

Pure data and rules (no I/O): the default proposal per segment (coupon or gift, amount, minimum order,
validity, Korean message), the benefit wording, the coupon code of a run's segment and the validation of
an admin's selection and edits. The segmentation graph proposes from here and validates through here.
"""

from __future__ import annotations

import re
import secrets
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sajang.db.rfm import SEGMENT_IDS, segment_label
from sajang.errors import SajangError
from sajang.knowledge.normalize import particle_after

# Default action per segment: discount type (percent | amount | gift), value, minimum order, days valid,
# whether it is pre-selected, and the message (placeholders: {name} {shop} {benefit} {coupon} {valid_until}).
# "lost" gets no proposal by default: a coupon to people who left long ago mostly reads as spam.
DEFAULT_ACTIONS: dict[str, dict[str, Any]] = {
    "champions": {
        "title": "VIP 감사 사은품", "discount_type": "gift", "discount_value": 10000, "min_order_amount": 0,
        "valid_days": 30, "recommended": True,
        "message": "{name}님, 늘 {shop}에 찾아와 주셔서 진심으로 감사합니다. 다음 주문에 {benefit}을 함께 "
                   "보내 드릴게요. 주문하실 때 쿠폰 코드 {coupon}만 입력해 주세요 ({valid_until}까지).",
    },
    "loyal": {
        "title": "단골 감사 쿠폰", "discount_type": "amount", "discount_value": 3000, "min_order_amount": 20000,
        "valid_days": 30, "recommended": False,
        "message": "{name}님, 꾸준히 찾아 주셔서 고맙습니다. {benefit} 쿠폰을 드려요. 코드 {coupon} "
                   "({valid_until}까지)",
    },
    "potential_loyalist": {
        "title": "다음 구매 쿠폰", "discount_type": "percent", "discount_value": 10, "min_order_amount": 30000,
        "valid_days": 21, "recommended": False,
        "message": "{name}님, 지난 주문은 마음에 드셨나요? 다음 주문에 쓰실 수 있는 {benefit} 쿠폰을 "
                   "준비했어요. 코드 {coupon} ({valid_until}까지)",
    },
    "new": {
        "title": "두 번째 주문 쿠폰", "discount_type": "amount", "discount_value": 3000, "min_order_amount": 20000,
        "valid_days": 21, "recommended": False,
        "message": "{name}님, {shop}의 첫 주문 감사합니다! 두 번째 주문에 쓰실 {benefit} 쿠폰을 드려요. "
                   "코드 {coupon} ({valid_until}까지)",
    },
    "promising": {
        "title": "재방문 쿠폰", "discount_type": "percent", "discount_value": 5, "min_order_amount": 20000,
        "valid_days": 21, "recommended": False,
        "message": "{name}님, 다시 찾아 주시면 {benefit}을 해 드려요. 코드 {coupon} ({valid_until}까지)",
    },
    "needs_attention": {
        "title": "관심 고객 쿠폰", "discount_type": "percent", "discount_value": 10,
        "min_order_amount": 30000, "valid_days": 14, "recommended": False,
        "message": "{name}님, 요즘 {shop}에 새로 들어온 상품이 많아요. {benefit} 쿠폰으로 둘러보세요. "
                   "코드 {coupon} ({valid_until}까지)",
    },
    "about_to_sleep": {
        "title": "휴면 방지 쿠폰", "discount_type": "percent", "discount_value": 10,
        "min_order_amount": 30000, "valid_days": 14, "recommended": False,
        "message": "{name}님, 오랜만이에요. {shop}에서 {benefit} 쿠폰을 준비했어요. 코드 {coupon} "
                   "({valid_until}까지)",
    },
    "at_risk": {
        "title": "재구매 유도 쿠폰", "discount_type": "percent", "discount_value": 15, "min_order_amount": 30000,
        "valid_days": 14, "recommended": True,
        "message": "{name}님, 한동안 뵙지 못해 아쉬웠어요. 다시 찾아 주시면 {benefit}을 해 드릴게요. "
                   "코드 {coupon} ({valid_until}까지)",
    },
    "cant_lose": {
        "title": "특별 감사 쿠폰", "discount_type": "percent", "discount_value": 20, "min_order_amount": 30000,
        "valid_days": 14, "recommended": True,
        "message": "{name}님, {shop}의 가장 소중한 고객님께만 드리는 {benefit} 쿠폰이에요. "
                   "코드 {coupon} ({valid_until}까지)",
    },
    "hibernating": {
        "title": "다시 만나요 쿠폰", "discount_type": "percent", "discount_value": 10,
        "min_order_amount": 30000, "valid_days": 14, "recommended": False,
        "message": "{name}님, 잘 지내셨나요? {shop}에서 {benefit} 쿠폰을 보내 드려요. 코드 {coupon} "
                   "({valid_until}까지)",
    },
}
DISCOUNT_LIMITS = {"percent": (Decimal(1), Decimal(90)), "amount": (Decimal(100), Decimal(1_000_000)),
                   "gift": (Decimal(0), Decimal(1_000_000))}
MAX_MESSAGE_CHARS = 500


def benefit_text(discount_type: str, value: Decimal | int | float,
                 min_order: Decimal | int | float | None = 0) -> str:
    """The benefit as the customer reads it, with the minimum order when there is one ("3만 원 이상 …" is
    what a customer would otherwise only find out at checkout): `20,000원 이상 주문 시 3,000원 할인`.
    Always ends in a Hangul noun (할인 / 사은품), so the particle after it follows that word."""
    v = Decimal(str(value))
    if discount_type == "percent":
        text = f"{v.normalize():f}% 할인"
    elif discount_type == "gift":
        text = f"{int(v):,}원 상당 사은품" if v > 0 else "감사 사은품"
    else:
        text = f"{int(v):,}원 할인"
    minimum = int(Decimal(str(min_order or 0)))
    return f"{minimum:,}원 이상 주문 시 {text}" if minimum > 0 else text


def exposure(proposal: dict[str, Any]) -> dict[str, Any]:
    """What approving `proposal` commits the shop to, for the confirmation step: per customer the discount
    at the minimum order (amount and gift: their value; percent: the percent of the minimum order, more on
    a bigger order — `open_ended`), and that times the customers the coupon goes to."""
    value = Decimal(str(proposal["discount_value"]))
    minimum = Decimal(str(proposal.get("min_order_amount") or 0))
    per = value * minimum / 100 if proposal["discount_type"] == "percent" else value
    customers = int(proposal["customers"])
    return {"per_customer": int(per), "total": int(per * customers),
            "open_ended": proposal["discount_type"] == "percent"}


def make_proposals(counts: dict[str, int], as_of: date) -> list[dict[str, Any]]:
    """One proposal per non-empty segment that has a default action (pure: no I/O)."""
    proposals: list[dict[str, Any]] = []
    for seg in SEGMENT_IDS:
        action = DEFAULT_ACTIONS.get(seg)
        if not action or not counts.get(seg):
            continue
        proposals.append({
            "id": seg, "segment": seg, "label": segment_label(seg), "customers": counts[seg],
            "title": action["title"], "discount_type": action["discount_type"],
            "discount_value": action["discount_value"], "min_order_amount": action["min_order_amount"],
            "valid_until": (as_of + timedelta(days=action["valid_days"])).isoformat(),
            "message": action["message"], "recommended": action["recommended"],
        })
    return proposals


def validate_approvals(proposals: list[dict[str, Any]], approvals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge the admin's selection and edits into the proposals; raise SajangError on anything invalid."""
    by_id = {p["id"]: p for p in proposals}
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in approvals:
        pid = str(item.get("id") or "")
        if pid not in by_id:
            raise SajangError(f"unknown proposal {pid!r}; choose from {', '.join(by_id) or 'none'}",
                              code="invalid_proposal")
        if pid in seen:
            continue
        seen.add(pid)
        p = dict(by_id[pid])
        if item.get("discount_value") not in (None, ""):
            try:
                value = Decimal(str(item["discount_value"]).replace(",", "").replace("%", "").replace("원", ""))
            except InvalidOperation:
                raise SajangError(f"{pid}: amount {item['discount_value']!r} is not a number",
                                  code="invalid_amount") from None
            lo, hi = DISCOUNT_LIMITS[p["discount_type"]]
            if not (lo <= value <= hi):
                raise SajangError(f"{pid}: amount {value} outside {lo}–{hi} for {p['discount_type']}",
                                  code="invalid_amount")
            p["discount_value"] = int(value) if value == value.to_integral_value() else float(value)
        if item.get("message") not in (None, ""):
            msg = str(item["message"]).strip()
            if len(msg) > MAX_MESSAGE_CHARS:
                raise SajangError(f"{pid}: message longer than {MAX_MESSAGE_CHARS} characters", code="invalid_message")
            try:
                msg.format(name="{name}", shop="", benefit="", coupon="", valid_until="")
            except (KeyError, IndexError, ValueError) as exc:
                raise SajangError(f"{pid}: message has an unknown placeholder ({exc}); use {{name}} {{shop}} "
                                  "{benefit} {coupon} {valid_until}", code="invalid_message") from None
            if "{coupon}" not in msg:
                raise SajangError(f"{pid}: the message must contain {{coupon}} (each customer's own code)",
                                  code="invalid_message")
            if "{benefit}" not in msg and Decimal(str(p.get("min_order_amount") or 0)) > 0:
                raise SajangError(f"{pid}: the message must contain {{benefit}} (it states the minimum order "
                                  "amount)", code="invalid_message")
            p["message"] = msg
        out.append(p)
    return out




def coupon_code(run_id: int, segment: str) -> str:
    """The campaign's key in `coupons` (one per run and segment). Never sent to a customer: each gets a
    code of their own (`issue_code`)."""
    return f"RFM{run_id}-{segment.upper().replace('_', '')}"


# no 0/O, 1/I/L: a code read out over the phone or typed from an SMS is not mistaken
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_RANDOM_CHARS = 10  # 31^10 ≈ 2^49.5 codes per run prefix
_CODE_SPACE = len(CODE_ALPHABET) ** CODE_RANDOM_CHARS


def issue_code(run_id: int) -> str:
    """A customer's own coupon code: `R<run>-` and 10 random characters (`secrets`), e.g.
    `R12-K7QMX3PTZA`. Nothing in it comes from the segment or the customer, so knowing one code (or the
    segment) tells nothing about another."""
    n = secrets.randbelow(_CODE_SPACE)  # one draw, written in the alphabet (uniform over all codes)
    chars = []
    for _ in range(CODE_RANDOM_CHARS):
        n, d = divmod(n, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[d])
    return f"R{run_id}-" + "".join(chars)


# a particle written both ways (the object marker followed by its other form in parentheses …) after a
# placeholder in an admin's message
_BOTH_PARTICLES = re.compile(r"([^\s{}])(을\(를\)|를\(을\)|이\(가\)|가\(이\)|은\(는\)|는\(은\)|과\(와\)|와\(과\))")


_AFTER_BENEFIT = re.compile(r"\{benefit\}(을\(를\)|를\(을\)|이\(가\)|가\(이\)|은\(는\)|는\(은\)|과\(와\)|와\(과\)"
                            r"|[을를이가은는과와](?=[\s.,!?~)]|$))")
_AFTER_COUPON = re.compile(r"\{coupon\}(을\(를\)|를\(을\)|이\(가\)|가\(이\)|은\(는\)|는\(은\)|과\(와\)|와\(과\))")


def message_for(proposal: dict[str, Any], shop: str, valid_until: date) -> str:
    """The proposal's message with everything filled in but the customer's `{name}` and `{coupon}` (their
    own code; both filled per row). The benefit states the minimum order; a particle right after it takes
    the form its last syllable needs (an admin's `{benefit}를` / `{benefit}을(를)` too), and a particle
    written both ways after any other filled-in word is settled the same way."""
    benefit = benefit_text(proposal["discount_type"], proposal["discount_value"], proposal.get("min_order_amount"))
    template = _AFTER_BENEFIT.sub(lambda m: "{benefit}" + particle_after(benefit, m.group(1)[0]), proposal["message"])
    template = _AFTER_COUPON.sub(lambda m: "{coupon}" + _VOWEL_FORM[m.group(1)[0]], template)
    text = template.format(name="{name}", shop=shop, coupon="{coupon}", benefit=benefit,
                           valid_until=f"{valid_until.month}월 {valid_until.day}일")
    return _BOTH_PARTICLES.sub(lambda m: m.group(1) + _particle(m.group(1), m.group(2)[0]), text)


_VOWEL_FORM = {"을": "를", "를": "를", "이": "가", "가": "가", "은": "는", "는": "는", "과": "와", "와": "와"}


def _particle(last: str, particle: str) -> str:
    """The form after `last`; after a Latin letter or digit (a coupon code) the vowel form, as most of them
    are read ending in a vowel (에이, 케이, 이, 삼 …: not all, but never both forms at once)."""
    return particle_after(last, particle) if "가" <= last <= "힣" else _VOWEL_FORM[particle]
