"""Reply drafts for negative reviews.

Offline: aspect-aware Korean templates. Each draft names the customer's specific problem (터진 포장,
늦은 배송, 너무 짠 맛, 빠진 구성품, 작게 나온 사이즈, 사진과 다른 색, 금방 찢어진 원단, 끊기는 연결, 화학 냄새,
금방 닳는 배터리 …), apologises in a tone that follows the rating, states the store
policy's remedy for that problem (reship / refund / exchange / points, with the fees and windows of
`StorePolicy`), and invites the customer to CS with the order number. Wording varies with the aspects,
the rating and the review id, so a page of replies does not read like one pasted sentence.

LLM: the chat model writes the reply as structured output from the same facts (policy, product, order,
customer history, analysis); an empty or failed answer falls back to the template.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from typing import Any

from pydantic import BaseModel, Field

from sajang.config import Settings, StorePolicy
from sajang.graphs.common.llm import structured
from sajang.graphs.review.prompts import DRAFT_SYSTEM
from sajang.graphs.review.sentiment import ASPECT_LABELS, ASPECTS, Analysis

log = logging.getLogger(__name__)

MAX_DRAFT_CHARS = 1500


def _won(value: Any) -> str:
    try:
        return f"{int(value):,}원"
    except (TypeError, ValueError):
        return f"{value}원"


def _pick(options: list[str], seed: str, salt: str) -> str:
    h = int(hashlib.sha256(f"{salt}:{seed}".encode()).hexdigest()[:8], 16)
    return options[h % len(options)]


def _has(text: str, pattern: str) -> bool:
    return re.search(pattern, text) is not None


_SKIN_TROUBLE = r"트러블|뾰루지|여드름|좁쌀|두드러기|붉어|가려|따가"  # named as the problem, and it changes the remedy


def _first_named(text: str, cases: list[tuple[str, str]], otherwise: str) -> str:
    """The sentence of the first (pattern, sentence) whose pattern the review text has, else `otherwise`."""
    return next((sentence for pattern, sentence in cases if _has(text, pattern)), otherwise)


# (problem sentence, remedy sentence) for one aspect, chosen by what the text says.
def _problem_and_remedy(aspect: str, text: str, p: StorePolicy, seed: str) -> tuple[str, str]:
    window = f"수령 후 {p.return_window_days}일 안에"
    if aspect == "packaging":
        problem = _first_named(text, [
            (r"터|새|샜|흥건|누수|쏟아|실링|흘러", "포장이 터져 내용물이 새어 나온 채로 받으셨다니"),
            (r"깨|금이|산산조각|부서|이가\s?나", "상품이 깨진 채로 도착했다니"),
            (r"아이스|녹|보냉|미지근", "보냉 포장이 제 역할을 하지 못해 상품이 녹은 채로 받으셨다니"),
            (r"찌그러|찢|뜯|눌려|구겨|뭉개|젖|너덜|뒤집", "상자가 찌그러지고 훼손된 채로 받으셨다니"),
        ], "포장이 허술해 상품이 손상된 채로 받으셨다니")
        remedy = _pick([
            "사진 한 장만 보내 주시면 회수 없이 새 상품으로 재발송해 드리거나 전액 환불해 드리겠습니다. 배송비는 모두 저희가 부담합니다.",
            "파손·누수 상품은 반품 없이 바로 재발송 또는 전액 환불로 처리해 드리며, 이때 드는 비용은 저희가 부담합니다.",
        ], seed, "pack")
        return problem, remedy
    if aspect == "quality":
        if _has(text, r"이물질|머리카락|벌레|조각|철사"):
            problem, remedy = ("상품에서 이물질이 나왔다니", "해당 상품은 전액 환불해 드리고, 같은 제조 일자 상품을 모두 회수해 원인을 조사한 뒤 결과를 알려 드리겠습니다.")
        elif _has(text, r"상한|상했|상해|곰팡이|썩|변질|쉬|냄새|비린|악취|배탈|식중독|복통|덩어리"):
            problem, remedy = ("받으신 상품의 상태가 좋지 않아 드시지 못하셨다니", "드시지 마시고 사진을 보내 주시면 바로 전액 환불 또는 새 상품 재발송을 해 드리겠습니다. 몸이 불편하시면 진료비도 상의해 주세요.")
        elif _has(text, r"유통\s?기한"):
            problem, remedy = ("유통기한이 넉넉하지 않은 상품이 발송되었다니", "유통기한이 충분히 남은 새 상품으로 바로 교환해 드리거나 환불해 드리겠습니다.")
        elif _has(text, r"불량|고장|부러|망가|벗겨|실밥|풀려|보풀|색[이]?\s?(다\s?)?빠|녹이|흔들|켜|작동"):
            problem, remedy = ("받으신 제품에 불량이 있었다니", f"{window} 불량 제품은 왕복 배송비 없이 새 제품으로 교환하거나 환불해 드립니다.")
        elif _has(text, r"짜|짠|싱거|밍밍|달|매워|맵|시어|시큼|느끼|조미료|맛"):
            problem, remedy = ("맛이 기대에 미치지 못했다니", "말씀해 주신 간과 맛은 조리 담당자와 바로 점검하겠습니다. 입맛에 맞지 않아 드시기 어려우셨다면 남은 상품 기준으로 환불이나 적립금 보상을 도와드리겠습니다.")
        elif _has(text, r"질기|딱딱|푸석|눅눅|물러|무른|시들|말라|퍼석|뻣뻣|기름"):
            problem, remedy = ("신선도와 식감이 기대에 못 미쳤다니", "사진을 보내 주시면 새 상품으로 다시 보내 드리거나 환불해 드리고, 선별 과정을 다시 점검하겠습니다.")
        else:
            problem, remedy = ("상품 품질이 설명과 달라 실망하셨다니", f"{window} 말씀 주시면 교환이나 환불로 바로 도와드리겠습니다.")
        return problem, remedy
    if aspect == "delivery":
        if _has(text, r"분실|못\s?받|없어요|다른\s?(집|주소)|이웃집|옆집|반송"):
            problem = "배송 완료로 표시됐는데 상품을 받지 못하셨다니"
            remedy = f"{p.courier}와 함께 바로 추적하고, 찾지 못하면 기다리지 않으시도록 즉시 다시 보내 드리겠습니다."
        elif _has(text, r"던져|던지|비\s?맞|문\s?앞"):
            problem = "배송 과정에서 상품이 함부로 다뤄졌다니"
            remedy = f"{p.courier}에 해당 배송 건을 알리고 재발 방지를 요청하겠습니다. 상품에 이상이 있으면 재발송해 드리겠습니다."
        else:
            problem = "배송이 예정보다 늦어져 기다리시게 했다니"
            remedy = _pick([
                f"{p.courier}에 지연 원인을 확인했고, 기다리게 해 드린 만큼 적립금으로 보상해 드리겠습니다.",
                f"오후 {p.dispatch_cutoff} 전 주문은 당일 출고가 원칙인데 지켜지지 못했습니다. 사과의 뜻으로 적립금을 넣어 드리겠습니다.",
            ], seed, "late")
        return problem, remedy
    if aspect == "size":
        if _has(text, r"양[이은도]?\s|용량|중량|g\s?밖에|인분|반\s?토막|뼈만|잘아|손가락|미니어처"):
            return ("받으신 양이 기대보다 적었다니",
                    "표시된 중량보다 적게 담겼다면 부족한 만큼 다시 보내 드리거나 그만큼 환불해 드리겠습니다.")
        problem = _first_named(text, [
            (r"기장|길이|짧|길어|길고|소매|밑위", "기장이 맞지 않아 입기 불편하셨다니"),
            (r"작|끼|타이트|꽉|좁|안\s?들어", "사이즈가 생각보다 작게 나와 맞지 않았다니"),
            (r"크|커|헐렁|펄렁|넓|품", "사이즈가 생각보다 크게 나와 맞지 않았다니"),
        ], "사이즈가 맞지 않아 불편하셨다니")
        return problem, _pick([
            f"{window} 다른 사이즈로 교환해 드립니다. 상세페이지 치수와 달랐다면 교환 배송비({_won(p.exchange_fee)})도 저희가 부담하겠습니다.",
            f"실측 치수를 알려 주시면 맞는 사이즈를 함께 찾아 {window} 교환해 드리고, 안내와 달랐다면 교환 배송비({_won(p.exchange_fee)})는 저희가 냅니다.",
        ], seed, "size")
    if aspect == "color":
        if _has(text, r"빠(져|지|짐|졌)|물\s?빠|이염|묻어|변색"):
            problem = "세탁 후 색이 빠지거나 다른 곳에 물이 들었다니"
            remedy = f"같은 제작분의 염색 상태를 확인하겠습니다. {window} 새 상품으로 교환하거나 환불해 드리며 왕복 배송비는 저희가 부담합니다."
        else:
            problem = _pick(["받으신 상품의 색상이 상세페이지 사진과 달라 실망하셨다니",
                             "화면에서 보신 색과 실제 색이 달라 당황하셨다니"], seed, "colorp")
            remedy = _pick([f"{window} 원하시는 색상으로 교환하거나 환불해 드립니다. 상세페이지 사진도 실제 색에 가깝게 다시 찍겠습니다.",
                            f"사진과 실물의 색 차이는 저희가 바로잡아야 할 부분이라, {window} 교환·환불 배송비를 받지 않겠습니다."],
                           seed, "colorr")
        return problem, remedy
    if aspect == "durability":
        problem = _first_named(text, [
            (r"찢|뜯어|구멍|헤지|해지|터", "얼마 쓰지 않았는데 제품이 찢어졌다니"),
            (r"부러|깨|휘어|금이", "얼마 쓰지 않았는데 제품이 부러졌다니"),
            (r"보풀|실밥|풀려|풀리|늘어", "몇 번 쓰지 않았는데 보풀이 일고 실밥이 풀렸다니"),
            (r"떨어|빠지|빠져|헐거|흔들", "부품이 금방 헐거워지고 떨어졌다니"),
            (r"벗겨|까지|녹이|기스", "얼마 쓰지 않았는데 표면이 벗겨졌다니"),
        ], "제품이 생각보다 빨리 망가졌다니")
        remedy = _pick([f"정상적으로 쓰시다 생긴 손상은 불량으로 보고 {window} 새 제품으로 교환하거나 환불해 드립니다.",
                        "사진을 보내 주시면 사용 기간과 관계없이 새 제품으로 바꿔 드리고, 같은 부위 불량이 반복되는지 제조사와 점검하겠습니다."],
                       seed, "dur")
        return problem, remedy
    if aspect == "function":
        problem = _first_named(text, [
            (r"연결|연동|페어링|블루투스|인식|끊", "연결이 자꾸 끊기거나 제대로 되지 않았다니"),
            (r"작동|켜|꺼|안\s?돌|스위치|버튼", "제품이 제대로 작동하지 않았다니"),
            (r"효과|효능", "기대하신 효과를 보지 못하셨다니"),
            (r"소음|시끄러", "소음이 커서 불편하셨다니"),
            (r"붙|접착|흡착|떨어", "제대로 붙지 않아 쓰기 어려우셨다니"),
            (_SKIN_TROUBLE, "사용 후 피부에 트러블이 생겼다니"),
            (r"화질|화상도", "화질이 기대에 못 미쳤다니"),
        ], "제품이 설명한 기능을 제대로 하지 못했다니")
        if _has(text, _SKIN_TROUBLE):
            remedy = "사용을 멈춰 주시고, 사용하신 양과 관계없이 전액 환불해 드리겠습니다. 진료를 받으셨다면 비용도 상의해 주세요."
        else:
            remedy = _pick([f"{window} 불량 여부를 확인해 새 제품으로 교환하거나 환불해 드리며, 배송비는 저희가 부담합니다.",
                            "쓰시는 환경(기기·사용 방법)을 알려 주시면 먼저 해결 방법을 안내드리고, 그래도 안 되면 교환이나 환불로 바로 처리하겠습니다."],
                           seed, "func")
        return problem, remedy
    if aspect == "smell":
        problem = _first_named(text, [
            (r"향", "향이 너무 강해 쓰시기 불편하셨다니"),
            (r"화학|석유|고무|플라스틱|본드|접착제|니스|페인트|약품", "제품에서 화학약품 같은 냄새가 심하게 났다니"),
        ], "제품에서 냄새가 심하게 나 불편하셨다니")
        remedy = _pick([f"냄새가 빠지지 않으면 {window} 반품해 주세요. 왕복 배송비 없이 전액 환불해 드리겠습니다.",
                        "같은 입고분의 냄새를 바로 확인하고, 원하시면 새 제품으로 교환하거나 배송비 없이 환불해 드리겠습니다."],
                       seed, "smell")
        return problem, remedy
    if aspect == "battery":
        if _has(text, r"뜨거|발열"):
            problem, remedy = ("충전 중 기기가 뜨거워졌다니",
                               "안전을 위해 바로 사용을 멈춰 주세요. 제품을 회수해 점검하고, 새 제품 교환이나 전액 환불을 배송비 없이 해 드리겠습니다.")
        elif _has(text, r"충전"):
            problem = "충전이 제대로 되지 않았다니"
            remedy = _pick([f"충전 불량은 {window} 새 제품으로 교환하거나 환불해 드립니다. 쓰신 케이블과 충전기도 알려 주시면 함께 확인하겠습니다.",
                            "충전 불량으로 보고 회수 비용 없이 새 제품을 먼저 보내 드리겠습니다."], seed, "charge")
        else:
            problem = "배터리가 금방 닳아 불편하셨다니"
            remedy = _pick([f"표시된 사용 시간보다 빨리 닳는다면 배터리 불량입니다. {window} 교환이나 환불로 도와드리겠습니다.",
                            "배터리 불량으로 보고 새 제품으로 교환해 드리며, 교환 배송비는 저희가 부담합니다."], seed, "batt")
        return problem, remedy
    if aspect == "price":
        if _has(text, r"할인|쿠폰|적립"):
            return ("할인·적립 혜택을 제대로 받지 못하셨다니",
                    "적용되지 않은 쿠폰·적립금은 확인 후 차액만큼 적립금으로 바로 넣어 드리겠습니다.")
        if _has(text, r"배송비"):
            return ("배송비가 부담스러우셨다니",
                    f"{_won(p.free_shipping_threshold)} 이상 주문하시면 배송비가 무료이고, 이번 배송비는 적립금으로 돌려 드리겠습니다.")
        return ("가격만큼 만족을 드리지 못했다니",
                "말씀 주신 가격과 구성은 다시 검토하겠습니다. 이번 구매에는 적립금으로 작은 보상을 드리겠습니다.")
    # service
    if _has(text, r"다른\s?(상품|제품|물건|색|옵션)|잘못|오배송|시켰는데|골랐는데"):
        return ("주문하신 것과 다른 상품이 발송되었다니",
                "잘못 보내 드린 상품은 저희 비용으로 회수하고, 주문하신 상품은 오늘 바로 다시 보내 드리겠습니다.")
    if _has(text, r"구성품|누락|빠져|빠진|만\s?왔|사은품"):
        return ("구성품이 빠진 채로 발송되었다니", "빠진 상품은 확인 즉시 추가 배송비 없이 바로 보내 드리겠습니다.")
    if _has(text, r"환불|반품|회수|취소"):
        return ("환불·반품 처리가 늦어져 답답하셨다니", "담당자가 진행 상황을 바로 확인해 오늘 안에 처리 결과를 알려 드리겠습니다.")
    return ("문의에 제때 답을 드리지 못했다니",
            "담당자가 오늘 안에 직접 연락드려 말씀하신 내용을 끝까지 해결해 드리겠습니다.")


_PRIORITY = ("quality", "packaging", "service", "battery", "function", "durability", "delivery", "color", "size",
             "smell", "price")


def public_reply(text: str, order_id: str | None, customer_name: str | None) -> str:
    """What may be published under a review: without the order number and the customer's full name (a
    chat-model draft or an agent's edit may hold them; "홍길동 고객님" becomes "고객님", a bare name "홍*동")."""
    out = text
    if order_id:
        out = re.sub(r"\s*[(（]?\s*" + re.escape(order_id) + r"\s*[)）]?", "", out)
    name = (customer_name or "").strip()
    if len(name) >= 2:
        out = re.sub(re.escape(name) + r"\s*고객님", "고객님", out)
        masked = name[0] + "*" * (len(name) - 2) + name[-1] if len(name) > 2 else name[0] + "*"
        out = out.replace(name, masked)
    return re.sub(r"[ \t]{2,}", " ", out).strip()


def draft_offline(analysis: Analysis, text: str, context: dict[str, Any], policy: StorePolicy) -> str:
    """A Korean reply that names the problem, apologises, states the remedy and invites to CS."""
    seed = str(context.get("review_id") or text)
    who = "고객님"  # a public reply never names the customer (`public_reply`)
    product = (context.get("product_name") or "").strip()
    rating = analysis.rating
    aspects = sorted(analysis.aspects or [], key=_PRIORITY.index)[:2]
    parts: list[str] = []
    if rating is not None and rating >= 4:
        opener = _pick([f"{who}, 좋은 별점 주셔서 감사하지만 불편하셨던 점을 그냥 넘길 수 없어 답글 드립니다.",
                        f"{who}, 만족스럽게 봐 주셔서 감사합니다. 다만 말씀해 주신 문제는 꼭 바로잡고 싶습니다."],
                       seed, "open4")
    elif rating == 1 or analysis.severity == "high":
        opener = _pick([f"{who}, 크게 실망하셨을 텐데 정말 죄송합니다.",
                        f"{who}, 먼저 깊이 사과드립니다. 기대하고 주문하셨을 텐데 정말 죄송합니다."], seed, "open1")
    else:
        opener = _pick([f"{who}, 솔직한 후기 남겨 주셔서 감사합니다.",
                        f"{who}, 불편을 드려 죄송합니다. 후기 남겨 주셔서 감사합니다."], seed, "open")
    parts.append(opener)
    if not aspects:
        what = f"「{product}」 상품이" if product else "상품이"
        parts.append(f"{what} 기대에 미치지 못해 정말 죄송합니다.")
        parts.append("어떤 점이 불편하셨는지 알려 주시면 교환·환불·재발송 중 원하시는 방법으로 바로 도와드리겠습니다.")
    for i, aspect in enumerate(aspects):
        problem, remedy = _problem_and_remedy(aspect, text, policy, seed)
        if i == 0 and product:
            problem = f"「{product}」 " + problem
        parts.append(f"{problem} 정말 죄송합니다." if i == 0 else f"또 {problem} 이 부분도 죄송합니다.")
        parts.append(remedy)
    if int(context.get("orders_count") or 0) >= 3:
        parts.append("늘 찾아 주시는 고객님께 이런 경험을 드려 더욱 송구합니다.")
    with_order = " 주문번호와 함께" if context.get("order_id") else ""  # the customer knows it; the public must not
    parts.append(f"번거로우시겠지만 1:1 문의나 고객센터 {policy.cs_phone}번으로{with_order} 연락 주시면 바로 처리해 "
                 f"드리겠습니다. 상담 시간은 {policy.cs_hours}입니다.")
    if aspects:
        area = "·".join(ASPECT_LABELS[a]["ko"] for a in aspects)
        parts.append(_pick([f"같은 일이 다시 없도록 {area} 과정을 꼼꼼히 점검하겠습니다.",
                            f"말씀해 주신 {area} 문제는 팀 전체와 공유해 개선하겠습니다."], seed, "close"))
    parts.append(f"{policy.shop_name} 드림")
    return " ".join(parts)





class ReplyDraft(BaseModel):
    """The chat model's structured answer."""

    reply: str = Field(description="the public reply to the review, in Korean")


def draft_llm(settings: Settings, analysis: Analysis, text: str, context: dict[str, Any], policy: StorePolicy) -> str:
    """The chat model's reply (structured output `{"reply": ...}`)."""
    facts = {
        "review": {"rating": analysis.rating, "text": text[:1000]},
        "analysis": {"aspects": [ASPECT_LABELS[a]["ko"] for a in analysis.aspects if a in ASPECTS],
                     "severity": analysis.severity},
        "product": context.get("product_name"),
        "order": {"order_id": context.get("order_id"), "status": context.get("order_status")},
        "customer": {"name": context.get("customer_name"), "orders": context.get("orders_count"),
                     "previous_complaints": context.get("previous_negative")},
    }
    system = DRAFT_SYSTEM.format(shop_name=policy.shop_name, policy=policy.model_dump_json())
    out: ReplyDraft = structured(settings, ReplyDraft).invoke(
        [("system", system), ("human", json.dumps(facts, ensure_ascii=False, default=str))])
    reply = (out.reply or "").strip()
    if not reply:
        raise ValueError("the model returned an empty reply")
    return reply[:MAX_DRAFT_CHARS]


def make_draft(settings: Settings | None, analysis: Analysis, text: str, context: dict[str, Any],
               policy: StorePolicy) -> tuple[str, str]:
    """(draft, method): the chat model when configured (template on failure), else the template."""
    if settings is not None and settings.llm_enabled:
        try:
            return draft_llm(settings, analysis, text, context, policy), "llm"
        except Exception as exc:  # a failing model must not leave the review without a draft
            log.warning("LLM review draft failed, using the template: %s", exc)
    return draft_offline(analysis, text, context, policy), "offline"
