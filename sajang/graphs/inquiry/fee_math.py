"""Sums a customer asks with their own amounts: free shipping for a cart, the refund of a return or a cancel.

«장바구니 4만2천원인데 배송비 붙어요?», «6만원어치 무배로 받았는데 2만원짜리 하나만 반품하면 얼마 돌려받아요?»,
«5만2천원 결제했는데 8천원짜리만 취소하면요?»: the manual states the rule and one worked example; a person at the
shop would do the sum with the customer's figures. The figures of the rule come from the store policy
(`StorePolicy`: delivery fee, free-shipping threshold, return fee), the rule itself from the manual's articles
on delivery fees, return fees and cancelling before dispatch.

`read_fee_case` reads the case from the message (no policy needed: «is this a sum, not a question about my
order?»); `fee_calculation` says the sum in the customer's language, or None when the message does not give
what the sum needs (a vague «5만원 넘게», the amount after a coupon without the one before, a fault return).
`remote_cart_calculation` adds an island's or Jeju's fee, read from the answering article's line, to a cart's;
`points_calculation` does the points rules of the points article with the customer's figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from sajang.config import StorePolicy
from sajang.knowledge.text import topic_nouns

Kind = Literal["cart", "partial_return", "full_return", "partial_cancel"]

_HANGUL_DIGITS = {"일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "칠": 7, "팔": 8, "구": 9}
_DIGIT_AMOUNT = re.compile(
    r"(?<![\d.,])(?P<man>\d{1,3})\s*만\s*(?:(?P<cheon>\d)\s*천)?\s*(?:(?P<baek>\d)\s*백)?\s*(?:원|(?=어치|짜리))"
    r"|(?<![\d.,])(?P<cheon_only>\d{1,2})\s*천\s*(?:(?P<baek2>\d)\s*백)?\s*원"
    r"|(?<![\d.,])(?P<digits>\d{1,3}(?:,\d{3})+|\d{4,7})\s*(?:원|won|KRW)"
    r"|(?:₩|KRW)\s*(?P<digits2>\d{1,3}(?:,\d{3})+|\d{4,7})(?![\d,])",
    re.IGNORECASE)
# «만오천원», «이만원», «삼천원»: the number in Hangul words, always before 원
_WORD_AMOUNT = re.compile(
    r"(?<![가-힣\d.])(?<!몇\s)(?P<man>[이삼사오육칠팔구]?)만\s*(?:(?P<cheon>[이삼사오육칠팔구]?)천)?\s*원"
    r"|(?<![가-힣\d.])(?<!몇\s)(?P<cheon_only>[이삼사오육칠팔구]?)천\s*원")  # («몇 천 원»: a question, no amount)
# «5만원 넘게», «5만원 밑으로», «50,000원 이상»: a threshold the customer names, not a sum of theirs
_THRESHOLD_AFTER = re.compile(r"\s*(?:짜리\s*)?(?:이상|이하|넘|초과|미만|밑|아래|부터|까지|안\s*되|못\s*미|over|under|or\s+more)")
# «만원 더 사면», «천원만 더 담으면»: what the customer would add, not what the cart holds
_MORE_AFTER = re.compile(r"\s*(?:짜리\s*)?(?:하나|한\s*개|\d+\s*개|두\s*개)?\s*(?:만|정도|쯤)?\s*"
                         r"(?:더|추가로|추가하|추가\s*하|more)")
# «만원짜리 두개»: several of the item; the sum would need the count
_SEVERAL_AFTER = re.compile(r"\s*짜리\s*(?:[2-9]\s*개|두|세|네|다섯|여러)")
_ITEM_AFTER = re.compile(r"\s*(?:짜리|상당|worth)")
_ORDER_AFTER = re.compile(r"\s*(?:won\s+|KRW\s+)?(?:order|purchase|cart)\b", re.IGNORECASE)
_ITEM_BEFORE = re.compile(r"[(（]\s*$|(?:an?|one)\s+(?:[a-z]+\s+)?$|item\s+(?:of|for)\s+$", re.IGNORECASE)
_COUPON_AFTER = re.compile(r"\s*(?:짜리\s*)?(?:할인\s*)?쿠폰|\s*(?:할인|off\b)")
_COUPON_BEFORE = re.compile(r"(?:쿠폰|적립금|포인트|할인)\s*(?:으로|로|을|를|은|는|도)?\s*$")
_REMAINING_BEFORE = re.compile(r"(?:남은|남는|남아|remaining|left)\s*(?:게|건|거|금액|금액은|금액이)?\s*$", re.IGNORECASE)
_FEE_BEFORE = re.compile(r"(?:배송비|택배비|배송료|shipping|delivery\s+fee)\s*(?:로|를|는|도|만)?\s*(?:of\s+)?$", re.IGNORECASE)

# (a bare «무료» only as the predicate asked, «무료에요?»: «사은품 무료로 주나요» is no shipping)
_SHIPPING = re.compile(r"배송비|택배비|배송료|무배|무료\s*배송|무료\s*(?:에요|예요|인가요|이에요|죠|야|냐|임|[?？])|공짜|"
                       r"shipping|delivery\s+(?:fee|cost|charge)|delivery\b[^.?!]{0,12}\bcost|how\s+much\s+is\s+(?:the\s+)?delivery",
                       re.IGNORECASE)
_COUPON = re.compile(r"쿠폰|할인|적립금|coupon|discount", re.IGNORECASE)
_RETURN = re.compile(r"반품|반송|돌려\s*보내|return", re.IGNORECASE)
_CANCEL = re.compile(r"취소|빼|cancel", re.IGNORECASE)
_EXCHANGE = re.compile(r"교환|exchange", re.IGNORECASE)
_IN_CART = re.compile(r"장바구니|담았|담아|담은|\bcart\b", re.IGNORECASE)
_CANCEL_WORD = re.compile(r"취소|cancel", re.IGNORECASE)
_ALL = re.compile(r"전부|전체|다\s*반품|모두|몽땅|통째|everything|whole\s+order|all\s+of", re.IGNORECASE)
_ONE_OF = re.compile(r"하나|한\s*개|일부|그중|그\s*중|만\s*(?:반품|취소|빼)|짜리|only|one\s+of|part\s+of", re.IGNORECASE)
# the shop's fault: nothing is deducted, there is no sum to do
_SHOPS_FAULT = re.compile(r"불량|파손|깨[져진졌]|오배송|잘못\s*(?:왔|온|보내)|상했|상한|터[져진졌]|녹아|녹은|녹았|쉰\s*내|쉬었|"
                          r"이물|벌레|곰팡|변질|냄새|"
                          r"defect|damaged|broken|wrong\s+item|spoil", re.IGNORECASE)
# «제주 사는데 …»: the remote-area fee comes on top (`remote_cart_calculation` adds it; the other sums are not
# done there); not «제주문» (제 주문), «제주산 갈치», «섬유유연제», «소독도» — a place, not a word that starts like one
_JEJU_PLACE = r"제주(?!문|산(?!다|대|지)|\s*(?:감귤|흑돼지|한라봉|옥돔|삼다수|갈치))"
# the islands a customer names («울릉도 사는데»): a remote area, and the place the reply names (else «도서산간 지역»)
_ISLANDS = ("울릉도", "백령도", "독도", "연평도", "흑산도", "홍도", "거문도", "청산도", "욕지도", "비금도", "도초도", "추자도",
            "우도", "가파도", "마라도")
_ISLAND_NAMED = re.compile("|".join(rf"(?<![가-힣]){name}" for name in _ISLANDS))
REMOTE_AREA = re.compile(_JEJU_PLACE + r"|울릉|도서\s*산간|(?<![가-힣])산간|"
                         r"(?<![가-힣])섬(?:\s|에|이|은|도|지역|마을|인데|$)|외딴\s*섬|작은\s*섬|" + _ISLAND_NAMED.pattern + "|"
                         r"\bjeju\b|\bulleung|\bislands?\b", re.IGNORECASE)
_JEJU = re.compile(_JEJU_PLACE + r"|\bjeju\b", re.IGNORECASE)
# in English the place counts only as where they are or where the parcel goes («I'm in Jeju», «shipping to Ulleungdo»)
_THERE_EN = re.compile(r"\b(?:i'?m|i\s+am|we'?re|we\s+are|live|living|based|staying)\s+(?:in|on)\s+(?:jeju|ulleung\w*|"
                       r"(?:an?\s+|the\s+)?(?:remote\s+)?(?:area|islands?))\b|\b(?:ship(?:ped|ping)?|send(?:ing)?|"
                       r"deliver(?:ed|y|ing)?)\s+(?:it\s+|them\s+)?to\s+(?:jeju|ulleung\w*|(?:an?\s+)?(?:remote\s+)?(?:area|islands?))\b",
                       re.IGNORECASE)
_NOT_THERE_EN = re.compile(r"\bnot\s+(?:in\s+|on\s+)?(?:jeju|ulleung\w*|(?:an?\s+)?(?:remote\s+)?(?:area|islands?))\b|"
                           # («I live in Jeju but I'm sending it to my parents in Seoul»: the parcel goes elsewhere)
                           r"\b(?:send(?:ing)?|ship(?:ping)?)\b(?:\s+(?:it|them))?\s+to\b(?![^.?!]{0,30}\b(?:jeju|ulleung|island))",
                           re.IGNORECASE)
# told before in the conversation, a place counts only said as where they live or where it goes («울릉도 사는데요»,
# «제주도 주소로 보내요»), not a question about such places («울릉도 배송비 얼마예요?»)
_LIVES_THERE = re.compile(r"\S{0,3}\s*(?:에\s*)?(?:사는데|살아요|살고|살거든|산다|삽니다|거주|주소|(?:으로|로)\s*(?:보내|받))")
# a yes/no question of the fee («배송비 붙나요?», «따로 내야 돼요?») or of free shipping («무배인가요?»)
_ASKS_FEE = re.compile(r"붙(?:나|어|음|는|냐|을|겠|죠|지)|내야|따로\s*(?:내|나와|들|받)|추가\s*(?:되|돼|요금)|do\s+i\s+pay|"
                       r"is\s+there\s+(?:a\s+)?(?:shipping|delivery)", re.IGNORECASE)
_ASKS_FREE = re.compile(r"(?:무료|무배|공짜|배송비\s*0\s*원)\S{0,4}\s*(?:인가요|예요|에요|이에요|죠|맞죠|인거죠|돼요|되나요|되죠|인가|임|[?？])|"
                        r"ship(?:s|ping)?\s+free\?|free\s+shipping\?", re.IGNORECASE)
# «배송비 안붙죠?», «무배 안됨?»: 네 or 아니요 would read either way
_NEGATED = re.compile(r"안\s*(?:붙|되|돼|됨|나와|내)|못|아니|없|not\b|n't\b", re.IGNORECASE)
# «결제됐어요 왜죠?», «접수했는데 확인해 주세요»: what happened to their order, asked of a person, not a sum
_REPORTED = re.compile(r"왜\s*(?:죠|요|냐|인가|그런)|확인\s*(?:해|좀|부탁)|결제\s*됐|붙었|접수\s*했|빠져\s*나갔|why\b|check\b",
                       re.IGNORECASE)
# a return or a cancel asked as a case («…반품하면», «취소하려구요»), not one told as done
_HYPOTHETICAL = re.compile(r"하면|하려|할\s*(?:게|건데|때|경우|래)|하고\s*싶|할래|하믄|빼면|빼려|뺄\s*(?:게|건데|때|경우|래)|빼고\s*싶|"
                           r"if\b|want\s+to|would|going\s+to",
                           re.IGNORECASE)
# «2개 반품하면», «한봉», «몇 개»: some of the goods counted, whose price is not told
_COUNTED_GOODS = re.compile(r"(?:\d+|[한두세네몇]|여러)\s*(?:개(?!월)|봉|팩|병|통|세트|가지|박스)|\b(?:two|three|some)\b",
                            re.IGNORECASE)
_FEE_INCLUDED = re.compile(r"배송비\s*(?:까지\s*)?포함|including\s+(?:shipping|delivery)", re.IGNORECASE)
_POINTS_ONLY = re.compile(r"^(?!.*(?:쿠폰|coupon)).*(?:적립금|포인트|points)", re.IGNORECASE | re.DOTALL)
_HOW_MUCH = re.compile(r"얼마|몇\s*만|how\s+much", re.IGNORECASE)
_AFTER_DISPATCH = re.compile(r"출고\s*(?:후|됐|된|되었)|배송\s*중|발송\s*(?:됐|된|후)|shipped", re.IGNORECASE)
_FREE_SAID = re.compile(r"무배|무료\s*배송|배송비\s*(?:무료|없이|0원|안\s*냈)|free\s+shipping|shipped\s+free",
                        re.IGNORECASE)
_FEE_PAID_SAID = re.compile(r"배송비\s*\S{0,12}\s*(?:냈|내고|결제|따로|별도|paid)|paid\s+\S{0,10}\s*(?:shipping|delivery)",
                            re.IGNORECASE)


@dataclass(frozen=True)
class Amount:
    value: int
    role: Literal["total", "item", "threshold", "coupon", "remaining", "fee", "more"]
    # where it stands in the message (what is said before and after it)
    start: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)


@dataclass(frozen=True)
class FeeCase:
    kind: Kind
    total: int                 # the order or cart amount (before coupons)
    item: int | None = None    # the product returned or cancelled
    free_said: bool = False    # the customer says the order shipped free
    fee_paid_said: bool = False
    after_coupon: bool = False  # the customer also gave the amount after a coupon


def _value(groups: dict[str, str | None], words: bool) -> int:
    """The amount a match of `_DIGIT_AMOUNT` (`words` False) or `_WORD_AMOUNT` (True) spells."""
    def digit(s: str | None) -> int:  # a Hangul digit left out means one: «만오천» is 1만 5천
        return _HANGUL_DIGITS.get(s or "", 1) if words else int(s or 0)
    plain = groups.get("digits") or groups.get("digits2")
    if plain:
        return int(plain.replace(",", ""))
    if groups.get("cheon_only") is not None:  # («천원»: a thousand, the digit left out)
        return digit(groups["cheon_only"]) * 1000 + int(groups.get("baek2") or 0) * 100
    if groups.get("man") is None:
        return 0
    cheon = 0 if groups.get("cheon") is None else digit(groups.get("cheon"))
    return digit(groups.get("man")) * 10_000 + cheon * 1000 + int(groups.get("baek") or 0) * 100


def amounts(text: str) -> list[Amount]:
    """The money amounts of `text` in order, each with what it is by its neighbours: «…짜리» an item, «5만원
    넘게» a threshold, «5천원 쿠폰» a discount, «남은 게 4만원» what remains, «배송비 3천원» a fee, else a total."""
    found: list[tuple[int, int, int]] = []
    for pattern, words in ((_DIGIT_AMOUNT, False), (_WORD_AMOUNT, True)):
        for m in pattern.finditer(text):
            value = _value(m.groupdict(), words)
            if value >= 1000 and not any(s < m.end() and m.start() < e for s, e, _v in found):
                found.append((m.start(), m.end(), value))
    out: list[Amount] = []
    for start, end, value in sorted(found):
        before, after = text[max(0, start - 14):start], text[end:end + 12]
        role: Literal["total", "item", "threshold", "coupon", "remaining", "fee", "more"] = "total"
        if _MORE_AFTER.match(after):
            role = "more"
        elif _ORDER_AFTER.match(after):
            role = "total"  # («a 55,000 won order»)
        elif _THRESHOLD_AFTER.match(after):
            role = "threshold"
        elif _ITEM_AFTER.match(after) or _ITEM_BEFORE.search(before):
            role = "item"
        elif _COUPON_AFTER.match(after) or _COUPON_BEFORE.search(before):
            role = "coupon"
        elif _REMAINING_BEFORE.search(before):
            role = "remaining"
        elif _FEE_BEFORE.search(before):
            role = "fee"
        out.append(Amount(value, role, start, end))
    return out


# words between what they bought and «반품» that name no part of it: why, or the fee they paid
_NOT_A_PART = frozenset({"단순", "변심", "맘", "마음", "그냥", "택배비", "배송비", "생각", "사이즈", "크기", "맛", "입맛", "전부",
                         "전체", "모두"})


# «매운거», «이거», «큰 거»: some of what they bought, named without a noun
_THING_UNNAMED = re.compile(r"[가-힣]\s?(?:거|것|걸|건)(?![가-힣])")


def _part_named(text: str, found: list[Amount]) -> bool:
    """Whether a noun stands between the last amount and the return asked of («3만원어치 샀는데 고추장 반품하면»): a
    part of the order, not all of it (or the return is asked before the amount: which part is not known)."""
    returned = _RETURN.search(text, found[-1].end)
    if returned is None:
        return True  # («If I return the kimchi from my 60,000 won order»: what is returned is said before the amount)
    between = text[found[-1].end:returned.start()]
    return bool(_THING_UNNAMED.search(between)) or any(noun not in _NOT_A_PART for noun in topic_nouns(between))


def read_fee_case(text: str, remote: bool = False) -> FeeCase | None:
    """The sum the message asks for with amounts of its own, or None (see the module's docstring). A message
    naming a remote area is read only with `remote` (`remote_cart_calculation` adds the area's fee)."""
    found = amounts(text)
    totals = [a.value for a in found if a.role == "total"]
    items = [a.value for a in found if a.role == "item"]
    if not totals and len(items) == 1 and _ALL.search(text) and _RETURN.search(text):
        totals, items = items, []  # («2만5천원짜리 샀는데 전체 반품하면»: the one thing bought is the order)
    if not totals or any(a.role in ("threshold", "more") for a in found) or _EXCHANGE.search(text) \
            or _SHOPS_FAULT.search(text) or (REMOTE_AREA.search(text) and not remote) or _REPORTED.search(text) \
            or _FEE_INCLUDED.search(text) or _SEVERAL_AFTER.search(text):
        return None
    free_said, fee_paid_said = bool(_FREE_SAID.search(text)), bool(_FEE_PAID_SAID.search(text))
    returned, cancelled = bool(_RETURN.search(text)), bool(_CANCEL.search(text))
    if cancelled and not returned and _IN_CART.search(text) and not _CANCEL_WORD.search(text):
        # «장바구니에 6만원어치 있는데 만오천원짜리 하나 빼면 배송비 붙어요?»: a cart made smaller, not an order cancelled
        if len(totals) == 1 and len(items) == 1 and items[0] < totals[0] and _SHIPPING.search(text):
            return FeeCase("cart", totals[0] - items[0])
        return None
    if returned or cancelled:
        if not _HYPOTHETICAL.search(text):
            return None  # «2만원짜리 반품 접수했어요»: the return made is their order's, a person looks it up
        if returned and cancelled and not _AFTER_DISPATCH.search(text):
            return None  # «취소하고 반품…»: which one is asked is not clear
        if not items and len(totals) == 2 and _ONE_OF.search(text):
            items = [min(totals)]
            totals = [max(totals)]
        if len(totals) != 1 or len(items) > 1:
            return None
        total = totals[0]
        if items:
            if items[0] >= total:
                return None
            kind: Kind = "partial_return" if returned else "partial_cancel"
            if kind == "partial_cancel" and _AFTER_DISPATCH.search(text):
                return None  # after dispatch a cancel is a return (the cancel-after-dispatch article)
            return FeeCase(kind, total, items[0], free_said, fee_paid_said)
        # («26800원어치 샀는데 … 반품하면 얼마 돌려받아요?»: what they bought, returned with no part of it named — not
        # «3만원어치 샀는데 고추장 반품하면», one product of it whose price is not told)
        if returned and (_ALL.search(text) or not (_ONE_OF.search(text) or _COUNTED_GOODS.search(text)
                                                   or _part_named(text, found))):
            return FeeCase("full_return", total, None, free_said, fee_paid_said)
        return None
    if not _SHIPPING.search(text):
        return None
    if len(totals) == 1 and not _COUPON.search(text) and not any(a.role == "coupon" for a in found):
        return FeeCase("cart", totals[0])
    if len(totals) == 2 and _COUPON.search(text):
        # «5만2천원어치 담고 쿠폰 썼더니 4만9천원»: free shipping is judged on the amount before the coupon
        return FeeCase("cart", max(totals), after_coupon=True)
    return None


def _yes_no_lead(text: str, fee_due: bool, locale: str) -> str:
    """«네, » or «아니요, » before a sum, by whether a fee is due: «배송비 붙나요?» yes when due, «무배인가요?» yes when
    not. A question of both or neither, a figure asked («얼마 더 담아야 무료배송?»: the sum is the answer) or a negated
    question («배송비 안 붙죠?»: either word would read both ways) gets none."""
    asks_fee, asks_free = bool(_ASKS_FEE.search(text)), bool(_ASKS_FREE.search(text))
    if asks_fee == asks_free or _HOW_MUCH.search(text) or _NEGATED.search(text):
        return ""
    yes = fee_due if asks_fee else not fee_due
    return ("Yes. " if yes else "No. ") if locale == "en" else ("네, " if yes else "아니요, ")


def _won(value: int, locale: str) -> str:
    return f"{value:,} won" if locale == "en" else f"{value:,}원"


def fee_calculation(text: str, policy: StorePolicy, locale: str = "ko", said_before: str = "") -> str | None:
    """The customer's sum said in a sentence or two (`locale` ko or en), or None: no sum in the message, or
    their earlier messages of the conversation (`said_before`) name a place where the remote-area fee may come on
    top («저 울릉도 사는데요» … «그럼 6만원어치 사면 배송비 0원이에요?»: `remote_cart_calculation`'s sum)."""
    case = read_fee_case(text)
    if case is None or REMOTE_AREA.search(said_before):
        return None  # (a sum without the area's fee would be wrong there: `remote_cart_calculation` does it)
    fee, threshold, return_fee = (int(Decimal(v)) for v in (policy.delivery_fee, policy.free_shipping_threshold,
                                                             policy.return_fee))
    w = lambda v: _won(v, locale)  # noqa: E731 - a short local formatter
    en = locale == "en"
    if case.kind == "cart":
        # (the manual judges before coupons and points alike; the reply names the one the customer used)
        points = bool(_POINTS_ONLY.search(text))
        spent = ("points" if points else "coupons") if en else ("적립금 사용 전" if points else "쿠폰 적용 전")
        basis = (f"Free shipping is judged on the amount before {spent}, {w(case.total)}" if en else
                 f"무료배송은 {spent} 상품 금액 {w(case.total)}으로 판단하니") if case.after_coupon else \
            (f"With {w(case.total)} of products" if en else f"상품 금액 {w(case.total)}이면")
        free = case.total >= threshold
        lead = _yes_no_lead(text, not free, locale)
        if free:
            return lead + (f"{basis}, that reaches free shipping ({w(threshold)} or more): no delivery fee."
                           if en else f"{basis} 무료배송 기준({w(threshold)} 이상)을 채워 배송비는 붙지 않아요.")
        short = threshold - case.total
        return lead + (f"{basis}, the delivery fee of {w(fee)} applies: free shipping starts at {w(threshold)}, so "
                       f"{w(short)} more of products would make it free." if en else
                       f"{basis} 무료배송 기준 {w(threshold)}에 {w(short)} 모자라 배송비 {w(fee)}이 붙어요. "
                       f"{w(short)}어치 더 담으시면 무료배송이에요.")
    # (the waived fee comes back only of an order that reached the threshold: «4만원 무배로 받았는데» was free by
    # some other offer the manual does not rule on)
    if case.free_said and case.total < threshold:
        return None
    shipped_free = case.total >= threshold and not case.fee_paid_said
    price = case.item or 0  # (the item returned or cancelled; none for the whole order)
    remaining = case.total - price
    # `fee_too`: the delivery fee comes off the refund as well — the one waived, or the one that applies again
    if case.kind == "full_return":
        fee_too = shipped_free
        refund = case.total - return_fee - (fee if fee_too else 0)
    elif case.kind == "partial_cancel":
        fee_too = case.total >= threshold > remaining
        refund = price - (fee if fee_too else 0)
    else:
        fee_too = shipped_free and remaining < threshold
        refund = price - return_fee - (fee if fee_too else 0)
    if refund <= 0:
        return None  # (fees above the item's price: a person explains, no sum of «−1,000원»)
    item = w(price)
    if case.kind == "full_return" and fee_too:
        return (f"Returning the whole {w(case.total)} order that shipped free: the {w(return_fee)} return fee "
                f"and the {w(fee)} delivery fee you were spared are deducted, so {w(refund)} is refunded."
                if en else
                f"무료배송으로 받으신 {w(case.total)} 주문을 전부 반품하시면 반품 배송비 {w(return_fee)}과 처음 "
                f"면제된 배송비 {w(fee)}을 빼고 {w(refund)}을 돌려 드려요.")
    if case.kind == "full_return":
        return (f"Returning the whole {w(case.total)} order: the {w(return_fee)} return fee is deducted, so "
                f"{w(refund)} is refunded (the {w(fee)} delivery fee you paid is not refunded)." if en else
                f"{w(case.total)} 주문을 전부 반품하시면 반품 배송비 {w(return_fee)}을 빼고 {w(refund)}을 돌려 "
                f"드려요. 결제하신 배송비 {w(fee)}은 돌려 드리지 않아요.")
    if case.kind == "partial_cancel" and fee_too:
        return (f"Cancelling the {item} item before dispatch leaves {w(remaining)}, under "
                f"{w(threshold)}, so the {w(fee)} delivery fee applies again and {w(refund)} is refunded."
                if en else
                f"출고 전에 {item} 상품을 취소하시면 남는 금액이 {w(remaining)}으로 {w(threshold)} 아래가 "
                f"되어 배송비 {w(fee)}이 다시 붙고, {w(refund)}을 돌려 드려요.")
    if case.kind == "partial_cancel":
        return (f"Cancelling the {item} item before dispatch refunds {item} in full." if en else
                f"출고 전에 {item} 상품을 취소하시면 {item} 전액을 돌려 드려요.")
    if fee_too:
        return (f"Returning the {item} item leaves {w(remaining)}, under {w(threshold)}: the "
                f"{w(return_fee)} return fee and the {w(fee)} delivery fee you were spared are deducted, so "
                f"{w(refund)} is refunded." if en else
                f"{item} 상품을 반품하시면 남는 금액이 {w(remaining)}으로 {w(threshold)} 아래가 되어, "
                f"반품 배송비 {w(return_fee)}과 처음 면제된 배송비 {w(fee)}을 빼고 {w(refund)}을 돌려 드려요.")
    return (f"Returning the {item} item: the {w(return_fee)} return fee is deducted, so {w(refund)} is "
            f"refunded." if en else
            f"{item} 상품을 반품하시면 반품 배송비 {w(return_fee)}을 빼고 {w(refund)}을 돌려 드려요.")


# the article's add-on fee for an area, in the clause naming it: «제주도: 3,000원 추가», «그 밖의 도서산간 지역: 5,000원
# 추가», «제주도는 3,000원, 그 밖의 도서산간 지역은 5,000원이 추가됩니다»
_AREA_FEE = re.compile(r"(제주|도서\s*산간|섬|jeju|remote|island)([^\d,.]{0,30}?)([\d,]+)\s*(?:원|won)", re.IGNORECASE)
_BASIC_FEE = re.compile(r"기본|standard", re.IGNORECASE)
_ADDED = re.compile(r"추가|\bextra\b|\badds?\b", re.IGNORECASE)


def remote_place(text: str, said_before: str = "") -> str | None:
    """The island or remote area of the message («제주», «울릉»), else the last one the customer told before that
    they live in or send to («저 울릉도 사는데요»); None when there is none."""
    found = REMOTE_AREA.search(text)
    if found:
        return found.group(0)
    told = [m.group(0) for m in REMOTE_AREA.finditer(said_before) if _LIVES_THERE.match(said_before, m.end())]
    return told[-1] if told else None


def names_remote_area(text: str, said_before: str = "") -> bool:
    """The message names an island or remote area, or the customer told before that they live or send there."""
    return remote_place(text, said_before) is not None


def _area_fee(lines: list[str], jeju: bool) -> int | None:
    """The add-on fee the article states for Jeju (`jeju`) or for the other remote areas: one figure, else None."""
    # (not the basic fee said on the way: «도서산간 지역은 기본 배송비 3,000원에 5,000원이 추가»)
    fees = {int(m.group(3).replace(",", "")) for line in lines if _ADDED.search(line)
            for m in _AREA_FEE.finditer(line)
            if (m.group(1).lower() in ("제주", "jeju")) == jeju and not _BASIC_FEE.search(m.group(2))}
    return fees.pop() if len(fees) == 1 else None


def remote_cart_calculation(text: str, policy: StorePolicy, rules: list[str], locale: str = "ko",
                            said_before: str = "") -> str | None:
    """A cart's delivery fee where the remote-area fee comes on top, the area named in the message or told before
    in the conversation («울릉도 사는데 2만원어치 시키면 배송비 총 얼마 나와여» → 3,000원 + 5,000원 = 8,000원): the
    store policy's fee and threshold, the area's fee from the answering article's lines (`rules`: «제주도: 3,000원
    추가», «그 밖의 도서산간 지역: 5,000원 추가»). None when no area is named, the message is no cart's sum, or the
    article states no fee for the area (`locale` ko or en)."""
    place_text = remote_place(text, said_before)
    if place_text is None or (locale == "en" and not _THERE_EN.search(f"{said_before} {text}")) \
            or _NOT_THERE_EN.search(text):
        return None  # («I live in Seoul, not Jeju», «a gift from Jeju to Seoul»: the parcel goes to no island)
    case = read_fee_case(text, remote=True)
    if case is None or case.kind != "cart":
        return None
    jeju = bool(_JEJU.match(place_text))
    extra = _area_fee(rules, jeju)
    fee, threshold = int(Decimal(policy.delivery_fee)), int(Decimal(policy.free_shipping_threshold))
    if extra is None or fee <= 0:
        return None
    w = lambda v: _won(v, locale)  # noqa: E731 - a short local formatter
    islands = _ISLAND_NAMED.findall(text if REMOTE_AREA.search(text) else said_before)
    en = locale == "en"
    if jeju:
        place = "Jeju" if en else "제주도"
    elif en:
        place = "remote-area"
    else:
        place = islands[-1] if islands else "도서산간 지역"
    free = case.total >= threshold
    # «배송비 0원이에요?», «무배죠?»: no, the area's fee still comes; «배송비 붙어요?»: yes
    lead = _yes_no_lead(text, True, locale)
    if en:
        if free:
            return (f"{lead}With {w(case.total)} of products the standard {w(fee)} fee is waived (free shipping from "
                    f"{w(threshold)}), but the {place} extra fee of {w(extra)} still applies.")
        return (f"{lead}With {w(case.total)} of products: the standard {w(fee)} fee plus the {place} extra fee of "
                f"{w(extra)}, {w(fee + extra)} of delivery in all.")
    if free:
        return (f"{lead}상품 금액 {w(case.total)}이면 기본 배송비 {w(fee)}은 무료배송 기준({w(threshold)} 이상)으로 "
                f"면제되지만, {place} 추가 배송비 {w(extra)}은 따로 붙어요.")
    return (f"{lead}상품 금액 {w(case.total)}이면 기본 배송비 {w(fee)}에 {place} 추가 배송비 {w(extra)}이 더해져 "
            f"배송비는 모두 {w(fee + extra)}이에요.")


def sum_with_previous(text: str, previous: str | None) -> str | None:
    """«지금 장바구니 47,000원인데요» after «몇만원 이상 사면 무료에요?»: an amount told alone is the case of the
    previous question; the two read as one make the sum (None: the line has a sum of its own, no amount, or
    the two together make none)."""
    if not previous or read_fee_case(text) is not None or not amounts(text):
        return None
    joined = f"{text.strip()} {previous.strip()}"
    return joined if read_fee_case(joined) is not None else None


# --- points: how much of them may be spent, how many an order earns -------------------------------------------

_POINTS_NAMED = re.compile(r"적립금|포인트|\bpoints?\b", re.IGNORECASE)
# «적립금 최대 얼마까지 쓸 수 있어요», «다 쓸 수 있나요» (Korean only: English is read by the rule's quote alone)
_SPENDING_ASKED = re.compile(r"(?:얼마|최대|전부|몇)\S{0,6}\s*(?:까지\s*)?(?:쓸|사용|써|쓰)|다\s*(?:쓸|사용|써)|최대\s*얼마")
# «4만원 결제하면 적립금 얼마 쌓여요»: points earned by buying (not by a review, nor what a return or a cancel does,
# nor when they come)
_EARNING_ASKED = re.compile(r"(?:얼마|몇)\S{0,4}\s*(?:쌓|적립\s*(?:돼|되)|모이|들어와|들어오)")
_NOT_BUYING = re.compile(r"리뷰|후기|반품|취소|환불|언제|빠지|회수|%|퍼센트|프로")
# the manual's cap on points spent: «상품 금액의 최대 50%까지», «남은 상품 금액의 50%까지»
_SPENDING_CAP = re.compile(r"상품\s*금액의\s*(?:최대\s*)?(\d{1,2})\s*%\s*까지")
_COUPON_FIRST = re.compile(r"쿠폰을?\s*먼저")
_SPENDING_MINIMUM = re.compile(r"([\d,]+)\s*원\s*이상부터")
_SPENDING_STEP = re.compile(r"(\d+)\s*원\s*단위")
_EARNING_RATE = re.compile(r"적립\s*(\d+(?:\.\d+)?)\s*%")
# an amount told with a coupon or a discount on either side («쿠폰 5천원», «5천원 쿠폰», «5천원 할인받고»), or with the
# points held («적립금이 3만원», «적립금 만원 있는데»)
_COUPON_NEAR = re.compile(r"(?:쿠폰|할인)\S{0,3}\s*$")
_COUPON_NEXT = re.compile(r"\s*(?:짜리\s*)?(?:할인|쿠폰)")
_POINTS_NEAR = re.compile(r"(?:적립금|포인트)\s*(?:이|가|은|는|을|를|도)?\s*$")


def _tier_named(key: str, text: str) -> bool:
    """The message names the tier `key` as theirs («골드등급이면», «VIP인데», «단골회원이고»; not «식구들이랑»)."""
    return bool(key) and re.search(rf"(?<![가-힣A-Za-z]){re.escape(key)}\s*(?:등급|회원)?\s*(?:이면|인데|이고|이라|면|고|예요|에요|입니다)",
                                   text, re.IGNORECASE) is not None


def points_calculation(text: str, rules: list[tuple[str, str]], locale: str = "ko", said_before: str = "") -> str | None:
    """The points a customer may spend on, or earns with, the amount they name, from the answering article's own
    rules (`rules`: (key, text) of its units — a table row's key is its first cell, «골드»): «3만원짜리에 5천원 쿠폰
    쓰면 적립금 최대 얼마까지 돼요?» with «쿠폰을 먼저 적용한 뒤 남은 상품 금액의 50%까지» → 12,500원; «골드등급이면
    4만원 결제하면 적립금 얼마 쌓여요» with the row «골드 … 적립 2%» → 800원. None when anything the sum needs is
    not plain: one product amount, the coupon and the points held told as such, no count, no percentage coupon, no
    fee included; or when the article states no such rule. Korean messages only. The points may be named in the
    customer's earlier messages (`said_before`): «적립금 최소 얼마부터 쓸 수 있어요?» … «그럼 3만원짜리 사면 최대 얼마까지
    써요?»."""
    if locale != "ko" or not (_POINTS_NAMED.search(text) or _POINTS_NAMED.search(said_before)) \
            or _SEVERAL_AFTER.search(text) \
            or _FEE_INCLUDED.search(text) or "%" in text:
        return None
    coupon, held, price = 0, list[int](), list[int]()
    for a in amounts(text):
        head = text[max(0, a.start - 10):a.start]
        if _COUPON_NEXT.match(text, a.end) or _COUPON_NEAR.search(head):
            coupon += a.value
        elif _POINTS_NEAR.search(head):
            held.append(a.value)
        elif a.role in ("total", "item"):
            price.append(a.value)
        else:
            return None
    if len(price) != 1 or coupon >= price[0]:
        return None
    w = lambda v: _won(v, locale)  # noqa: E731 - a short local formatter
    said = " ".join(t for _k, t in rules)
    if _SPENDING_ASKED.search(text):
        cap = _SPENDING_CAP.search(said)
        if cap is None or (coupon and not _COUPON_FIRST.search(said)):
            return None
        pct = int(cap.group(1))
        base = price[0] - coupon
        step = _SPENDING_STEP.search(said)
        unit = int(step.group(1)) if step else 1
        limit = base * pct // 100 // unit * unit
        minimum = _SPENDING_MINIMUM.search(said)
        if minimum and limit < int(minimum.group(1).replace(",", "")):
            return None  # (below the least that may be spent: a rule of its own, the manual's line says it)
        basis = f"상품 금액 {w(price[0])}에서 쿠폰 {w(coupon)}을 뺀 {w(base)}" if coupon else f"상품 금액 {w(price[0])}"
        line = f"{basis}의 {pct}%, 적립금은 최대 {w(limit)}까지 쓰실 수 있어요."
        if len(held) == 1:
            line += f" 가지고 계신 적립금 {w(held[0])} 중 {w(min(held[0], limit))}을 쓰실 수 있어요."
        return line
    if _EARNING_ASKED.search(text) and not _NOT_BUYING.search(text) and not coupon and not held:
        rows = [(k, t) for k, t in rules if _tier_named(k, text)]
        rates = {r.group(1) for _k, t in rows for r in [_EARNING_RATE.search(t)] if r}
        if len(rows) != 1 or len(rates) != 1:
            return None  # (no tier named, or several: which rate applies is not clear)
        rate = Decimal(rates.pop())
        earned = int(Decimal(price[0]) * rate / 100)
        return f"{rows[0][0]} 등급이면 {w(price[0])} 결제에 {rate}%, 적립금 {w(earned)}이 쌓여요."
    return None


# --- membership tiers: what is left to reach one ----------------------------------------------------------------

# «골드 되려면 얼마 더 사야 돼요?», «단골까지 얼마 남은 거예요?»: the amount still to buy
_TIER_GAP_ASKED = re.compile(r"얼마\s*(?:더|남|나\s*더)|몇\s*만\s*원\s*더|더\s*(?:사야|구매해야|써야)|남은\s*(?:거|게|금액)")
_TIER_REACHED = r"\s*(?:등급)?\s*(?:이|가|으로|로)?\s*(?:되려면|될려면|되면|까지|올라가려면|가려면|달성)"


def _tier_aimed(key: str, text: str) -> bool:
    """The message names the tier `key` as the one to reach («골드 되려면», «VIP까지»)."""
    return bool(key) and re.search(rf"(?<![가-힣A-Za-z]){re.escape(key)}{_TIER_REACHED}", text, re.IGNORECASE) is not None


def tier_gap_calculation(text: str, rules: list[tuple[str, str]], locale: str = "ko", said_before: str = "") -> str | None:
    """What the customer still has to buy to reach the tier they name (or named in the question before, in
    `said_before`), from the tier table's own row (`rules`: (key, text) of the article's units, «골드» → «… 40만 원
    이상 …»): «지난 6개월 동안 32만원 샀는데 골드 되려면 얼마 더 사야 돼요?» → 80,000원. None unless one amount bought,
    one tier aimed at with one line, and the line not reached yet. Korean only."""
    if locale != "ko" or not _TIER_GAP_ASKED.search(text) or _SEVERAL_AFTER.search(text):
        return None
    found = amounts(text)
    spent = [a.value for a in found if a.role in ("total", "item")]
    if len(spent) != 1 or len(found) != 1:
        return None
    aimed = [(k, t) for k, t in rules if _tier_aimed(k, text)] or \
        [(k, t) for k, t in rules if said_before and _tier_aimed(k, said_before)]
    if len(aimed) != 1:
        return None
    key, row = aimed[0]
    lines = [a.value for a in amounts(row) if a.role == "threshold"]
    if len(lines) != 1 or lines[0] <= spent[0]:
        return None  # (no line, several, or reached already: the rule answers, the tier changes on its own date)
    w = lambda v: _won(v, locale)  # noqa: E731 - a short local formatter
    return f"{key} 등급 기준은 {w(lines[0])} 이상이라, {w(spent[0])}에서 {w(lines[0] - spent[0])} 더 구매하시면 돼요."
