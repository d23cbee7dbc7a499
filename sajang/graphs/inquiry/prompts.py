"""Prompts and answer templates of the inquiry graph (Korean by default, English for English speakers).

The LLM prompts carry the facts the model may use (manual passages, learned answers, store policy,
the customer's own orders); the offline templates wrap extracted manual sentences and order data.
"""

from __future__ import annotations

import re

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from sajang.config import StorePolicy
from sajang.knowledge.normalize import particle_after

# Category labels for summaries the agents read (the UI has its own table in sajang.ui.i18n).
CATEGORY_KO: dict[str, str] = {
    "delivery": "배송", "exchange": "교환", "return_refund": "반품/환불", "cancel": "취소",
    "damage_defect": "파손/불량", "stock": "재고", "product": "상품", "payment": "결제",
    "coupon_points": "쿠폰/적립금", "human": "상담원 요청", "other": "기타",
}

CATEGORY_GUIDE = """- delivery: 배송 조회·지연·배송비·배송지 변경·주소 설정
- exchange: 교환, 오배송(다른 상품 수령), 옵션·사이즈 변경
- return_refund: 반품, 환불 규정·환불 진행 상황
- cancel: 주문 취소, 취소 수수료, 정기배송 해지
- damage_defect: 파손, 불량, 변질, 이물질, 누락, 식품 안전
- stock: 품절, 재입고, 재고 수량
- product: 상품 정보(양, 성분, 알레르기, 원산지, 보관, 조리법)
- payment: 결제 오류, 결제 수단, 영수증, 세금계산서, 이중 결제
- coupon_points: 쿠폰, 할인 코드, 적립금, 포인트
- human: 상담원·사람·전화 상담 요청, 고객센터 연락처
- other: 회원 계정, 비밀번호, 뉴스레터, 인사, 범위 밖 질문"""

CLASSIFY_SYSTEM = f"""당신은 한국 온라인 식품 쇼핑몰의 고객 문의 분류기입니다.
고객 메시지 하나를 읽고 카테고리, 긴급도, 상담원 요청 여부를 JSON으로만 답하세요.

카테고리 id:
{CATEGORY_GUIDE}

긴급도: low(일반 정보 문의), normal(보통), high(파손·불량·오배송·강한 불만),
urgent(식품 안전 위험, 반복된 불만, 법적 대응 언급).
wants_human: 고객이 사람(상담원)과 이야기하고 싶다고 분명히 말했을 때만 true."""


def classify_messages(text: str) -> list[BaseMessage]:
    return [SystemMessage(CLASSIFY_SYSTEM), HumanMessage(text)]


def policy_text(policy: StorePolicy) -> str:
    p = policy
    return (f"- 상호: {p.shop_name}\n- 배송비 {p.delivery_fee:,}원, {p.free_shipping_threshold:,}원 이상 무료배송\n"
            f"- 평일 {p.dispatch_cutoff} 이전 결제 시 당일 출고, 택배사 {p.courier}\n"
            f"- 반품 배송비 {p.return_fee:,}원(편도), 교환 배송비 {p.exchange_fee:,}원(왕복), "
            f"수령 후 {p.return_window_days}일 이내 반품·교환\n- 고객센터 {p.cs_phone}, {p.cs_hours}")


# --- offline templates ----------------------------------------------------------------------------

def josa(word: str, pair: str) -> str:
    """`word` with the particle its last syllable takes: josa("배송비", "은/는") → "배송비는", josa("주문",
    "을/를") → "주문을" (the consonant rule is `knowledge.normalize.particle_after`). A word ending in a Latin
    letter or digit keeps the second form."""
    with_final, without_final = pair.split("/")
    last = word.rstrip()[-1:] if word.strip() else ""
    if last.isdigit():  # «193으로», «101동 1호로»: the number as it is read (…삼, …일), «10» as 십
        number = re.search(r"\d+$", word.rstrip())
        digits = number.group(0) if number else last
        zeros = len(digits) - len(digits.rstrip("0"))
        last = "영" if zeros == len(digits) else _PLACE_READ[min(zeros, 4)] if zeros else _DIGIT_READ[digits[-1]]
    if not ("가" <= last <= "힣"):
        return f"{word}{without_final}"
    return f"{word}{particle_after(last, with_final)}"


_DIGIT_READ = dict(zip("0123456789", "영일이삼사오육칠팔구", strict=True))
_PLACE_READ = {1: "십", 2: "백", 3: "천", 4: "만"}


# Wordings a reply varies between (chosen per message, so a chat does not read like a form letter); ""
# means: say nothing there.
VARIANTS: dict[str, dict[str, tuple[str, ...]]] = {
    # (no greeting here: the first answer greets, a later one does not say hello again)
    "manual_open": {"ko": ("궁금하신 점 알려 드릴게요.", "문의 주셔서 감사합니다.", "확인해 드릴게요.", "", "",
                           "안내해 드릴게요."),
                    "en": ("Sure.", "Thanks for asking!", "", "Happy to help.", "")},
    "manual_close": {"ko": ("더 궁금하신 점 있으면 편하게 말씀해 주세요.", "다른 궁금한 점도 언제든 물어봐 주세요.", "",
                            "도움이 되셨으면 좋겠어요.", "또 궁금한 게 생기면 말씀해 주세요."),
                     "en": ("Anything else, just ask.", "", "Hope that helps!", "Let me know if anything is unclear.")},
    "manual_named": {"ko": ("'{title}'{guide}에 나와 있는 내용이에요.", "", "자세한 내용은 '{title}'{guide}에서도 보실 수 있어요.",
                            "", "'{title}'{guide}{guide_obj} 바탕으로 말씀드렸어요."),
                     "en": ("That's from our guide “{title}”.", "", "More in our guide “{title}”.", "")},
    "empathy": {"ko": ("걱정 많으셨죠.", "불편을 드렸다면 죄송해요.", "마음 쓰이셨을 텐데 바로 알려 드릴게요."),
                "en": ("Sorry about the trouble.", "I'm sorry this has been frustrating.")},
    "empathy_tip": {"ko": ("아이고, 속상하셨겠어요.", "그럴 때는 이렇게 해 보세요.", "번거로우셨죠. 이렇게 하시면 돼요."),
                    "en": ("Oh, that's annoying. Here's what helps.", "Here's how to get it right.")},
    "empathy_delay": {"ko": ("배송이 늦어져 많이 답답하셨죠. 죄송합니다.", "기다리시게 해서 정말 죄송해요.",
                             "오래 기다리셨죠, 죄송합니다."),
                      "en": ("Sorry for the wait. I know it's frustrating.", "I'm sorry it's taking this long.")},
    "empathy_damage": {"ko": ("많이 놀라셨죠. 불편을 드려 죄송합니다.", "속상하셨을 텐데 정말 죄송해요."),
                       "en": ("I'm so sorry about that.", "Sorry, that must have been upsetting.")},
}

T: dict[str, dict[str, str]] = {
    "greet": {"ko": "안녕하세요, {shop}입니다.", "en": "Hello, this is {shop}."},
    "manual_intro": {"ko": "문의하신 내용 안내해 드립니다.", "en": "Here is what our customer guide says "
                                                             "(the guide is written in Korean):"},
    "manual_ref": {"ko": "자세한 내용은 「{title}」 안내를 참고해 주세요.", "en": "Source: “{title}”."},
    "closing": {"ko": "더 궁금하신 점이 있으면 편하게 말씀해 주세요.",
                "en": "If anything is still unclear, just write back and a person will help."},
    "handoff_notice": {
        "ko": "상담원에게 연결해 드릴게요. 상담 시간은 {hours}이며, 순서대로 답변드립니다. 기다리시는 동안 "
              "남겨 주신 메시지도 상담원이 함께 확인합니다.",
        "en": "I'm connecting you with a member of our team. We answer in order during our service hours: "
              "{hours}. Anything you add meanwhile will be seen by the agent."},
    "handoff_urgent": {
        "ko": "불편을 드려 정말 죄송합니다. 바로 확인이 필요한 문의라 상담원에게 우선 연결해 드렸어요. "
              "상품 상태 사진을 보내 주시면 더 빠르게 처리해 드릴 수 있습니다.",
        "en": "We're very sorry about this. Because it needs a person to look at it, we've put you at the "
              "front of the queue. A photo of the product helps us handle it faster."},
    "handoff_urgent_photo": {
        "ko": "불편을 드려 정말 죄송합니다. 바로 확인이 필요한 문의라 상담원에게 우선 연결해 드렸어요. "
              "보내 주신 사진도 상담원이 함께 확인합니다.",
        "en": "We're very sorry about this. Because it needs a person to look at it, we've put you at the "
              "front of the queue. The agent will see the photo you sent."},
    # an urgent handoff whose words report harm to health: what to do before a person reads it
    "handoff_urgent_health": {
        "ko": "많이 놀라셨죠. 상담원에게 가장 먼저 연결해 드렸어요. 숨쉬기 힘들거나 붓기·두드러기가 심해지면 "
              "기다리지 마시고 바로 119에 연락하시거나 가까운 병원에 가 주세요. 드신 상품과 포장은 버리지 말고 "
              "보관해 주세요.",
        "en": "We're so sorry. We've put you at the very front of the queue. If breathing gets hard or the swelling "
              "or rash gets worse, please don't wait for us: call emergency services (119 in Korea) or go to the "
              "nearest hospital. Please keep the product and its packaging."},
    # …an injury (a burn, a cut, a tooth) and no illness told
    "handoff_urgent_injury": {
        "ko": "많이 놀라셨죠. 상담원에게 가장 먼저 연결해 드렸어요. 다치신 곳이 심하면 기다리지 마시고 가까운 병원에 "
              "먼저 가시거나 119에 연락해 주세요. 문제가 된 상품과 포장은 버리지 말고 보관해 주세요.",
        "en": "We're so sorry. We've put you at the very front of the queue. If the injury is serious, please don't "
              "wait for us: go to the nearest hospital or call emergency services (119 in Korea). Please keep the "
              "product and its packaging."},
    # money or an account at risk (orders nobody of theirs placed, a caller asking for card details)
    "handoff_urgent_security": {
        "ko": "걱정 많으셨죠. 상담원에게 가장 먼저 연결해 드렸어요. 결제가 걱정되시면 카드사에 바로 연락해 "
              "결제 정지를 요청하시고, 비밀번호도 바꿔 주세요. 저희는 전화나 문자로 카드번호나 비밀번호를 "
              "묻지 않습니다.",
        "en": "We're sorry for the worry. We've put you at the very front of the queue. If a payment worries you, "
              "call your card company now to block it, and change your password. We never ask for card numbers "
              "or passwords by phone or text."},
    # an urgent matter no photo of a product helps with (a legal threat, a complaint repeated, a double charge)
    "handoff_urgent_plain": {
        "ko": "불편을 드려 정말 죄송합니다. 바로 확인이 필요한 문의라 상담원에게 우선 연결해 드렸어요.",
        "en": "We're very sorry about this. Because it needs a person to look at it, we've put you at the "
              "front of the queue."},
    "order_not_found": {
        "ko": "말씀하신 주문번호 {order_id}는 고객님 계정에서 확인되지 않습니다. 주문번호를 다시 한번 확인해 주세요.",
        "en": "We couldn't find order {order_id} in your account. Please check the order number."},
    "verify_for_person": {"ko": "상담원이 바로 확인할 수 있게 주문번호와 주문하신 휴대폰 번호 뒤 4자리를 남겨 주세요.",
                          "en": "So that our team can look it up straight away, please leave the order number and "
                                "the last 4 digits of the phone number on the order."},
    "waiting_open": {
        "ko": "상담원도 이 대화를 함께 보고 있어요. 상담 시간({hours})이라 순서대로 곧 답변드릴게요.",
        "en": "A member of our team will read this conversation too and reply shortly (we're open now: {hours})."},
    "waiting_closed": {
        "ko": "남겨 주신 내용은 상담원도 함께 봅니다. 지금은 상담 시간이 아니어서 {when}부터 순서대로 답변드릴게요.",
        "en": "A member of our team will read this conversation too. We're closed right now; they'll reply from "
              "{when} (hours: {hours})."},
    "korean_only": {
        "ko": "{title} 안내입니다.",
        "en": "Our guide on this («{title}») is only written in Korean; I've put the relevant part below, and if "
              "you'd rather talk with a person in English, tap «상담원 연결» (Talk to an agent)."},
    "draft_apology": {"ko": "불편을 드려 죄송합니다.", "en": "We're sorry for the trouble."},
    "draft_fallback": {"ko": "문의 주셔서 감사합니다. 내용 확인 후 바로 안내드리겠습니다.",
                       "en": "Thank you for your message. We'll check and get back to you right away."},
}

ORDER_STATUS_T: dict[str, dict[str, str]] = {
    "paid": {"ko": "결제가 완료되어 곧 상품 준비가 시작됩니다. 평일 {cutoff} 이전 결제 건은 당일 출고됩니다.",
             "en": "Payment is complete and we will start preparing it shortly (orders paid before {cutoff} on "
                   "weekdays ship the same day)."},
    "preparing": {"ko": "현재 상품을 준비하고 있습니다. 출고되면 송장 번호를 문자로 보내 드립니다.",
                  "en": "We are preparing it now; you'll get the tracking number by text once it ships."},
    "shipping": {"ko": "{shipped} {courier}로 출고되어 배송 중입니다. 운송장 번호는 {tracking}입니다.",
                 "en": "It left our warehouse {shipped} with {courier} and is on its way. Tracking number: "
                       "{tracking}."},
    "delivered": {"ko": "{delivered} 배송 완료되었습니다. 혹시 받지 못하셨다면 현관 앞·경비실·무인 택배함을 "
                        "확인해 주시고, 그래도 없으면 말씀해 주세요.",
                  "en": "It was delivered {delivered}. If you can't find it, please check your door, the "
                        "building's parcel room or lockers, and tell us if it is still missing."},
    "cancelled": {"ko": "이 주문은 취소 완료되었습니다.", "en": "Its cancellation is complete."},
    "returned": {"ko": "이 주문은 반품 처리가 완료되었습니다.", "en": "This order has been returned."},
    "exchanged": {"ko": "이 주문은 교환 처리가 완료되었습니다.", "en": "This order has been exchanged."},
}

# Answers about the customer's own orders (order_answers.py): facts, lists, what can be done per status.
ORDER_T: dict[str, dict[str, str]] = {
    "head": {"ko": "{items} 주문(주문번호 {order_id}, {when} 주문)은 현재 '{status}' 상태예요.",
             "en": "Your order {order_id} ({items}, placed {when}) is {status}."},
    "head_about": {"ko": "{items} 주문(주문번호 {order_id}, {when} 주문) 말씀이시죠.",
                   "en": "About your order {order_id} ({items}, placed {when}):"},
    "tracking": {"ko": "{courier} 운송장 번호는 {tracking}입니다. {courier} 홈페이지나 앱에서 조회하시면 실시간 위치를 보실 수 있어요.",
                 "en": "It's with {courier}, tracking number {tracking}; you can follow it on {courier}'s site or app."},
    "no_tracking": {"ko": "아직 출고 전이라 운송장 번호가 없어요. 출고되면 운송장 번호를 문자로 보내 드려요.",
                    "en": "It hasn't shipped yet, so there is no tracking number; you'll get it by text once it ships."},
    "shipped_on": {"ko": "{shipped} 출고되었고, 보통 출고 다음 날({expected}) 도착해요. 제주·도서산간은 하루이틀 더 걸려요.",
                   "en": "It shipped {shipped} and usually arrives the next day ({expected}); Jeju and islands take a "
                         "day or two longer."},
    # on its way after the day it was expected: said so, and what they can do now
    "shipped_late": {"ko": "{shipped} 출고되어 {expected} 도착 예정이었는데, 아직 배송 중으로 나와 늦어지고 있어요. 택배사 조회로 "
                           "지금 위치를 확인해 보시고, 오늘 안에 받지 못하시면 이 채팅에 말씀해 주세요. 저희가 택배사에 확인해 "
                           "드릴게요.",
                     "en": "It shipped {shipped} and was expected {expected}, but it still shows as in transit, so it is "
                           "running late. You can see where it is with the courier's tracking; if it has not come by the "
                           "end of today, tell us here and we will check with the courier."},
    "delivered_on": {"ko": "{delivered} 배송 완료되었어요.", "en": "It was delivered {delivered}."},
    "dispatch_plan": {"ko": "평일·토요일 {cutoff} 이전 결제 건은 당일 출고되고, 보통 출고 다음 날 도착해요.",
                      "en": "Orders paid before {cutoff} (Mon–Sat) ship the same day and usually arrive the next day."},
    "items": {"ko": "주문하신 상품은 {lines}입니다.", "en": "Items: {lines}."},
    "ship_to": {"ko": "받는 분은 {recipient} 님, 배송지는 {address} 되어 있어요. 바꾸셔야 하면 말씀해 주세요.",
                "en": "It is addressed to {recipient} at {address}. Let me know if that needs changing."},
    "ship_to_missing": {"ko": "이 주문에는 배송지가 따로 적혀 있지 않아요. 확인이 필요하시면 말씀해 주세요.",
                        "en": "This order has no delivery address on record. Let me know if you'd like us to check."},
    "amount": {"ko": "결제 금액은 {amount}원이에요(배송비 {fee}).", "en": "You paid KRW {amount} (shipping {fee})."},
    "free_shipping": {"ko": "무료", "en": "free"},
    # an order's amount on a list line, with the delivery fee it paid
    "list_amount": {"ko": "{amount}원(배송비 {fee})", "en": "KRW {amount} (shipping {fee})"},
    "claim": {"ko": "{when} 접수된 {type} 요청은 현재 '{status}' 상태예요.",
              "en": "The {type} request you made {when} is {status}."},
    "claim_done": {"ko": "{when} 접수된 {type} 요청은 '{status}' 처리되었어요{resolved}.",
                   "en": "The {type} request you made {when} was {status}{resolved}."},
    "no_claims": {"ko": "이 주문에는 접수된 취소·반품·교환·환불 요청이 없어요.",
                  "en": "There is no cancellation, return, exchange or refund request on this order."},
    "list_intro": {"ko": "{what} 주문이 {n}건 있어요.", "en": "You have {n} {what}orders{when}:"},
    "list_intro_all": {"ko": "최근 주문 {n}건이에요.", "en": "Your {n} most recent orders:"},
    "list_line": {"ko": "- {order_id} ({when}) {items} · {status}{extra}", "en": "- {order_id} ({when}) {items} · {status}{extra}"},
    "others_intro": {"ko": "{what} 주문이 {n}건 더 있어요. 다른 주문이 궁금하시면 말씀해 주세요.",
                     "en": "There are {n} more {what}orders{when}; tell me if you meant another one."},
    "others_intro_plain": {"ko": "다른 주문도 {n}건 있어요. 궁금하신 주문을 말씀해 주세요.",
                           "en": "There are {n} other orders; tell me if you meant another one."},
    "total": {"ko": "{what} 주문 {n}건의 결제 금액을 합하면 {total}원이에요.{excluded}",
              "en": "Your {n} {what}orders{when} come to KRW {total} in total.{excluded}"},
    "total_recent": {"ko": "최근 주문 {n}건의 결제 금액을 합하면 {total}원이에요.{excluded}",
                     "en": "Your {n} most recent orders come to KRW {total} in total.{excluded}"},
    "total_excluded": {"ko": " 취소·반품된 {k}건({amount}원)은 빼고 더했어요.",
                       "en": " Not counted: {k} cancelled or returned (KRW {amount})."},
    "list_pick": {"ko": "어느 주문인지 알려 주시면 자세히 안내해 드릴게요.",
                  "en": "Tell me which one and I'll give you the details."},
    "none_matching": {"ko": "{what} 주문은 없어요.", "en": "I couldn't find any {what}order{when}."},
    "none_at_all": {"ko": "고객님 계정에서 주문 내역을 찾지 못했어요.", "en": "I couldn't find any orders in your account."},
    "recent_instead": {"ko": "최근 주문은 이렇습니다.", "en": "Your recent orders:"},
    "coupons": {"ko": "보유하신 쿠폰은 {lines}입니다.", "en": "Your coupons: {lines}."},
    "no_coupons": {"ko": "지금 보유하신 쿠폰은 없어요.", "en": "You have no coupons at the moment."},
    "no_points": {"ko": "적립금 잔액은 채팅에서 확인해 드릴 수 없어요. 마이페이지에서 확인하실 수 있어요.",
                  "en": "I can't see your points balance in the chat; it's shown on your account page."},
    # what the customer can do, by action and the order's status
    "cancel_paid": {"ko": "아직 '결제 완료' 상태라 마이페이지 주문 상세의 '주문 취소' 버튼으로 바로 취소하실 수 있어요. "
                          "취소 수수료는 없고 결제 금액 전부가 환불돼요.",
                    "en": "It's still at 'paid', so you can cancel it yourself with the 'Cancel order' button in your "
                          "order details, free of charge and fully refunded."},
    "cancel_preparing": {"ko": "'상품 준비 중'이라 버튼으로는 취소가 안 되지만, 출고 전이면 수수료 없이 취소해 드려요. "
                               "취소 요청을 상담원에게 바로 전달할게요.",
                         "en": "It's being prepared, so the button no longer works, but before it ships we cancel it "
                               "free of charge. I'm passing your request to our team now."},
    "cancel_shipping": {"ko": "이미 출고되어 택배사로 넘어간 주문이라 취소는 어려워요. 받으신 뒤 반품으로 도와드리고, "
                              "수취 거부하시면 반송 배송비 {return_fee}원이 환불 금액에서 빠져요.",
                        "en": "It has already shipped, so it can't be cancelled; once it arrives we'll help with a return "
                              "(refusing the parcel costs the {return_fee} KRW return shipping)."},
    "cancel_delivered": {"ko": "이미 배송 완료된 주문이라 취소 대신 반품으로 접수해야 해요. 받으신 날부터 {window}일 안에 "
                               "신청하실 수 있어요.",
                         "en": "It has been delivered, so it's a return rather than a cancellation, possible within "
                               "{window} days of delivery."},
    "already_cancelled": {"ko": "이 주문은 이미 취소 처리되었어요.", "en": "This order is already cancelled."},
    "already_returned": {"ko": "이 주문은 이미 반품 처리되었어요.", "en": "This order has already been returned."},
    "already_exchanged": {"ko": "이 주문은 이미 교환 처리되었어요.", "en": "This order has already been exchanged."},
    "address_before": {"ko": "지금 '{status}' 상태로 아직 출고 전이라 배송지를 바꿀 수 있어요. 마이페이지 주문 상세에서 직접 수정하시거나, 이 채팅에 "
                             "새 주소를 남겨 주세요. 오후 2시 출고 마감 전에 알려 주셔야 해요.",
                       "en": "It is {status} and hasn't shipped yet, so the address can still change: edit it in your order details or "
                             "write the new address here, before the 2 pm dispatch cut-off."},
    "address_shipping": {"ko": "이미 출고되어 저희가 주소를 바꿀 수 없어요. 택배사({courier}) 고객센터나 앱에서 운송장 번호 {tracking}로 "
                               "'배송지 변경'을 요청해 주세요.",
                         "en": "It has shipped, so we can't change the address any more; ask the courier, {courier} (tracking "
                               "{tracking}) for a change of address."},
    "address_delivered": {"ko": "이 주문은 이미 배송 완료되어 배송지를 바꿀 수 없어요.",
                          "en": "This order has already been delivered."},
    "exchange_before": {"ko": "지금 '{status}' 상태로 아직 출고 전이라 교환 대신 취소 후 다시 주문하시면 돼요.",
                        "en": "It is {status} and hasn't shipped yet: cancel it and order again instead of exchanging."},
    "exchange_shipping": {"ko": "배송 중이라 받으신 뒤에 교환을 신청하실 수 있어요.",
                          "en": "It's on its way; you can ask for an exchange once it arrives."},
    "exchange_window": {"ko": "받으신 지 {days}일째라 교환 신청 기간({window}일) 안이에요. 교환 배송비는 왕복 {fee}원이고, "
                              "불량·오배송이면 무료예요. 교환 요청을 상담원에게 전달할게요.",
                        "en": "It arrived {days} day(s) ago, within the {window}-day window. Exchange shipping is "
                              "{fee} KRW both ways, free for defects or wrong items. I'm passing your request on."},
    "return_window": {"ko": "받으신 지 {days}일째라 반품 신청 기간({window}일) 안이에요. 단순 변심이면 반품 배송비 {fee}원이 "
                            "빠지고, 불량·파손·오배송은 무료예요. 냉동·냉장 식품은 단순 변심 반품이 어려워요. "
                            "반품 요청을 상담원에게 전달할게요.",
                      "en": "It arrived {days} day(s) ago, within the {window}-day window. A change of mind costs "
                            "{fee} KRW return shipping; defects, damage or wrong items are free. Frozen and chilled "
                            "food can't be returned for a change of mind. I'm passing your request on."},
    "window_over": {"ko": "받으신 지 {days}일이 지나 단순 변심 교환·반품 기간({window}일)은 지났어요. 불량이나 오배송이라면 "
                          "사진과 함께 알려 주세요. 상담원이 확인해 드릴게요.",
                    "en": "It arrived {days} days ago, past the {window}-day window for a change of mind; if it's "
                          "defective or the wrong item, send a photo and our team will check."},
    "return_before": {"ko": "지금 '{status}' 상태로 아직 출고 전이라 반품 대신 취소하시면 돼요.",
                      "en": "It is {status} and hasn't shipped yet, so cancel it rather than return it."},
    "return_shipping": {"ko": "배송 중이라 받으신 뒤에 반품을 신청하실 수 있어요.",
                        "en": "It's on its way; you can ask for a return once it arrives."},
    "claim_open": {"ko": "이 주문에는 이미 {when} 접수된 {type} 요청이 있고, 현재 '{status}' 상태예요.",
                   "en": "There is already a {type} request on this order ({when}), currently {status}."},
    # guests
    "verify_ask": {"ko": "주문 정보를 확인하려면 본인 확인이 필요해요. 주문번호와 주문하신 휴대폰 번호 뒤 4자리를 "
                         "이 채팅에 보내 주세요. (예: O-20261120-00012 1234)",
                   "en": "To look at your order I first need to confirm it's yours: send the order number and the "
                         "last 4 digits of the phone number on the order (e.g. O-20261120-00012 1234)."},
    "verify_digits": {"ko": "주문번호 받았어요. 주문하신 휴대폰 번호 뒤 4자리도 보내 주세요.",
                      "en": "Got the order number. Now the last 4 digits of the phone number on the order, please."},
    "verify_failed": {"ko": "주문번호와 휴대폰 번호 뒤 4자리가 일치하지 않아요. 다시 확인해서 보내 주세요.",
                      "en": "The order number and phone digits don't match. Please check them and try again."},
    "verify_locked": {"ko": "본인 확인에 여러 번 실패해서 잠시 확인을 멈췄어요. 15분 뒤에 다시 시도하시거나 상담원 연결을 "
                            "요청해 주세요.",
                      "en": "Too many failed attempts: please try again in 15 minutes or ask for a person."},
    "verified": {"ko": "{name}님, 본인 확인이 되었어요.", "en": "Thanks {name}, you're verified."},
    "verified_no_question": {"ko": "주문에 대해 궁금하신 점을 말씀해 주세요.", "en": "What would you like to know about your order?"},
}


def _opener(wording: str) -> re.Pattern[str]:
    return re.compile(r"\s*" + re.escape(wording).replace(re.escape("{shop}"), r"[^\n]{1,60}?"))


# How the bot's answers open (the greeting, "확인해 드릴게요.", a word of sympathy): said the same way in
# many answers, so they tell none apart
OPENERS = [_opener(w) for w in {*(T["greet"][loc] for loc in ("ko", "en")),
                                *(v for key in ("manual_open", "empathy", "empathy_tip", "empathy_delay", "empathy_damage")
                                  for loc in ("ko", "en") for v in VARIANTS[key][loc] if v)}]


# «네.» / «보관:» on lines of their own above a list (see answering._render, _with_yes_no)
_LIST_HEADING = re.compile(r"^(?:(?:네|아니요|Yes|No)\.[^\S\n]*\n)?(?:[^\n:]{1,40}:[^\S\n]*\n)?(?=\s*- )")
_BULLET = re.compile(r"^(?:[-*•·]|\d{1,2}[.)])\s+")


def answer_gist(text: str) -> str:
    """A bot answer without its opening courtesies (what a list of answers shows to tell them apart);
    the whole text when nothing else is left."""
    rest = str(text or "").strip()
    while True:
        found = next((m for m in (p.match(rest) for p in OPENERS) if m and m.end()), None)
        if found is None:
            break
        rest = rest[found.end():].lstrip()
    rest = _LIST_HEADING.sub("", rest, count=1)  # «보관:» over a list says which list, not which answer
    rest = _BULLET.sub("", rest, count=1)  # "- 냉동 보관 …": the list's first item, without its marker
    return rest or str(text or "").strip()
