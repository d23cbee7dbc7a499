"""What a customer asks about their own data, read as an intent with slots.

`parse_own_query("지난주에 시킨 만두 송장번호 알려주세요", now)` →
`OwnDataQuery(facts=("tracking",), products=("만두",), since=<last Monday 00:00 KST>, …)`.

Slots say WHICH orders (order numbers, loosely named products, a date word in KST relative to `now`, a
status word, or all recent ones); facts say WHAT the customer wants to know (status, tracking, delivery
date, items, amount paid, claims, coupons, a list); `action` is a request to cancel, change the address,
exchange or return. Product words are Kiwi noun runs that are not order vocabulary: whether they name a
product is decided against the customer's item names (`order_answers.select_orders`).

Elliptic follow-ups ("제주도는요?", "그 주문은요?", "에어프라이어는요?") are recognised by `elliptic_fragment`;
`merge_followup` carries the previous turn's slots over with the fragment's slots on top.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sajang import PACKAGE_DATA
from sajang.knowledge.normalize import read_lexicon
from sajang.knowledge.text import analysis, kiwi_analyser

KST = ZoneInfo("Asia/Seoul")
ORDER_ID = re.compile(r"\b[A-Z]{1,3}-\d{6,}(?:-\d+)?\b|\b\d{10,20}\b", re.IGNORECASE)

# --- facts ------------------------------------------------------------------------------------------
# «주문을 두 개 했는데요»: orders of theirs, counted (not «두 번 했어요», a duplicate a person cancels)
COUNTED_ORDERS = re.compile(r"주문\s*(?:을|를)?\s*(?:두|세|네|(?<!\d)[2-9])\s*(?:개|건)\s*(?:했|하였|하셨)")
# «다른 걸로 바꿔 달라고 한 거 어떻게 되고 있어요»: a claim they asked for, in their words
CLAIM_IN_THEIR_WORDS = re.compile(r"(바꿔|교환해|반품해|환불해|취소해)\s*(달라고|달라)\s*(한|했|요청)")
# «된장찌개밀키트 배송됐나요?», «만두 왔나요»: whether the order named has come (its state and its parcel); not a trouble
# told as a question («왜 다른 게 왔나요?», «임박한 게 왔나요», «다른 게 왔나 봐요»)
_CAME_ASKED = (r"(?:^(?!.*(?:왜|다른\s*(?:게|거|걸|상품)|잘못|이상한|임박))(?s:.)*?"
               r"(?:배송\s*(?:됐|되었|됬|된\s*(?:거|건)|됐는지|되었는지)|(?<![가-힣])(?:왔|도착했)(?:나요|는지|을까요|나(?!\s*(?:봐|보)))))")
FACT_PATTERNS: dict[str, re.Pattern[str]] = {
    "tracking": re.compile(_CAME_ASKED + r"|송장|운송장|택배사|(우체국|cj|씨제이|대한통운|한진|롯데|로젠)\S{0,4}\s*(으로|로)?\s*(온다는|오는|보낸|온)?\s*(거|것|게)?\s*번호\s*(가|는|좀)?\s*(뭐|뭔|알려|좀|확인)|(어느|무슨|어떤)\s*택배\S{0,2}\s*(로|으로)?\s*(왔|온|옴|와요|와여|오나|오는지|보내셨|보냈)|배송\s*조회|조회\s*번호|추적|어디\s*(쯤|까지|에|있)|tracking|where\s+is"
                           r"|courier|carrier|(which|what)\s+(delivery\s+|shipping\s+)?company",
                           re.IGNORECASE),
    "delivery_date": re.compile(
        r"언제\s*(와|오|옴|도착|받|들어|배송|출고|발송|나가|보내\s*(주|줘|줄)|보내셔|보내실)|도착\s*(예정|일|날|했|안)|배송\s*(예정|일)|(받|도착)(을|는)\s*수"
        r"|몇\s*일\s*(에|날)|출고\s*(됐|되었|했|언제|예정|안|돼요|되요|되나요|될까요|되죠|되는지)|출발\s*(했|됐|하|해|안|언제|예정)|발송\s*(됐|되었|했|언제|안)|when\s+will|arriv|deliver(ed|y\s+date)"
        r"|(아직\s*)?안\s*나갔|(?<!얼마)(?<!얼마 )(?<!배송비)(?<!배송비 )(?<!배송비[가는도] )나갔(나|어|죠|지|는지|을까)|(has|did)\s+(it|my\s+order)\s+(shipped|ship|gone\s+out)|shipped\s+yet"
        r"|\b(did|has|have)\s+(my|the)\s+\w+(\s+\w+)?\s+(ship|shipped|left|gone\s+out)\b|\bship\s+yet\b"
        # «배송완료 며칠이었죠?», «언제 받았는지», «받은 날짜»: the day it was delivered
        r"|배송\s*완료\S{0,3}\s*(며칠|언제|날짜|몇\s*일)|(며칠|언제|몇\s*일)\S{0,2}\s*(받았|도착했|배송\s*완료)|받은\s*(날|날짜)"
        # «된장찌개 밀키트 받은 게 언제였지», «도착한 게 며칠이었죠»
        r"|(받은|도착한|온)\s*(거|게|것|건)\s*(이|가)?\s*(언제|며칠|몇\s*일)",
        re.IGNORECASE),
    "items": re.compile(r"(뭐|뭘|무엇|무슨\s*상품|어떤\s*(거|상품|걸))\s*(를|을)?\s*(시켰|주문|샀|구매)|몇\s*개|수량|구성|품목"
                        r"|(주문|시킨|산|구매)\s*(한|했던)?\s*(거|것|게|상품|물건)\s*(가|이|는|은)?\s*(뭐|뭔|무엇|어떤)"
                        r"|(뭐|뭘)\s*(시킨|주문한|산)|(거|것|건)\s*(가|이|는|은)?\s*(뭐|뭔)\s*(에|예|였|이)"
                        r"|(뭐뭐|뭐|뭘|무엇|뭐가|어떤\s*(거|게|상품))\s*(가|이)?\s*(들어\s*(있|갔|가\s*있)|들었)"
                        r"|뭐뭐\s*(?:임|에요|예요|였|인지|죠|야|(?:가|이)?\s*있었)"  # «뭐뭐임», «뭐뭐 있었죠»: which things
                        r"|(?:뭐뭐|뭘|뭐)\s*(?:를|을)?\s*(?:담았|담은|넣었|넣은|골랐|고른)"  # «뭐뭐 담았는지»: its cart
                        r"|주문\s*(?:이|은|건)?\s*(?:뭐|뭔|무엇)\s*(?:였|이었)"  # «취소한 주문 뭐였는지» (not «예약주문이 뭐예요»)
                        # «다시팩 같이 온 거죠?», «멸치볶음도 같이 들어 있었나요»: whether it came in that order
                        r"|(같이|함께)\s*(온|왔|들어\s*(있|갔|왔)|보내\s*(주셨|셨))"
                        r"|what\s+did\s+i\s+(order|buy)|which\s+items|what\s*(was|is|'s)\s+in\s+(it|that|the|my)"
                        r"|what\s+(was|is|'s)\s+my\s+(last|latest|most\s+recent|recent|previous)\s+order",
                        re.IGNORECASE),
    "amount": re.compile(r"얼마\s*(결제|냈|나왔|였|지불|계산|썼|썻|나\s*썼|나\s*썻)|how\s+much.{0,24}\bspen[dt]|결제\s*(금액|액|된\s*금액|됐|되었|한\s*금액)|총\s*(액|금액)|금액"
                         r"|결제\s*(가|는|된\s*게)?\s*얼마"
                         # «그거 얼마짜리였죠», «얼마 나갔는지도»: what the order cost them
                         r"|얼마\s*(짜리|나갔|빠져\s*나갔|찍혔|찍힌|긁혔|청구)"
                         r"|(?:배송비|택배비|배송료|택비)\s*(도|는|가)?\s*(냈|포함|붙|나왔|나갔|결제|얼마\s*(냈|나갔|빠졌|나왔|결제))"
                         # «배송비 따로 냈나요?»: paid (not «따로 붙나요?», what the rule charges)
                         r"|(?:배송비|택배비|배송료|택비)\s*(도|는|가)?\s*(따로|별도로?)\s*(냈|나갔|결제\s*(했|됐|된))"
                         # «두 개 산 거 무배 된 거 맞나»: whether that order shipped free
                         r"|(?:무배|무료\s*배송)\s*(?:으로|로)?\s*(?:된|됐|되었|받은|받았|맞|였|이었|처리)"
                         r"|how\s+much\s+(did\s+i|was)|amount|paid|did\s+i\s+pay\s+(?:a\s+|the\s+|any\s+)?(?:delivery|shipping)\s+fee"
                         r"|얼마\s*(를\s*)?(돌려|환불)|환불\s*(금액|액|은\s*얼마|얼마)|how\s+much.{0,30}(refund|back)",
                         re.IGNORECASE),
    "claims": re.compile(r"(교환|반품|환불|취소)\s*(신청|요청|접수)\s*(한|했|하신|된)?|"
                         + CLAIM_IN_THEIR_WORDS.pattern + r"|(교환|반품|환불)\s*(진행|처리|상태|언제|됐|되었|아직|어떻게|어케|어캐)"
                         # «들기름 취소했는데 취소완료 됐어요?»: the cancel they asked for, done or not
                         r"|취소\s*(완료|처리)\s*(가|는)?\s*(됐|되었|됬|된\s*(거|건)|인지|맞|끝|완료)"
                         r"|(교환|반품|환불)\s*(건|은|는)|refund\s+status|return\s+status|exchange\s+status"
                         # «what happened with my return request?»
                         r"|(?:return|exchange|refund)\s+request|\bmy\s+(?:return|exchange|refund)\b",
                         re.IGNORECASE),
    # (not one named as an example of a kind: «주문 내역 같은 개인정보는 몇 년 보관해요?»)
    "list": re.compile(r"(주문|구매|결제)\s*(내역|목록|리스트|이력)(?!\s*(?:같은|처럼|등(?:의|은|과)?\s))|최근\s*(에\s*)?(주문|산|시킨|구매)|주문한\s*(거|것|게)\s*(다|전부|모두)"
                       r"|(?:주문|시킨\s*거)\s*(?:이|가|은|는)?\s*몇\s*건"  # «오늘 주문 몇건 들어갔어요?»
                       r"|전체\s*주문|order\s+history|my\s+orders|recent\s+orders"
                       r"|" + COUNTED_ORDERS.pattern + r"\S*\s*[.!~ㅠㅜ]*$"  # «주문을 두 개 했는데요», nothing more asked
                       r"|\b(last|recent|past|latest)\s+(\d{1,2}|few|two|three|four|five)\s+orders", re.IGNORECASE),
    # «제 주문 배송지 어디로 돼 있어요?», «받는 사람 누구로 돼 있어요»: where (to whom) the order goes
    "ship_to": re.compile(r"(배송지|주소|받는\s*(분|사람|곳))\s*(가|는|이|은)?\s*(어디|뭐|뭔|누구|어떻게\s*(돼|되)|맞|확인|알려|제대로|잘\s*(들어|입력|적))"
                         r"|어디로\s*(보내|배송|가|가요|가나|오|와|발송|나가)|누구\s*(앞|한테|에게)\s*로?\s*(보내|가|배송)"
                         r"|\b(ship(ping)?|delivery)\s+address\b|\bwhere\s+(is|are|was)\s+(it|my\s+order)\s+(being\s+)?(sent|shipped|going)\b",
                         re.IGNORECASE),
    "coupons": re.compile(r"쿠폰|coupon", re.IGNORECASE),
    "points": re.compile(r"적립금|포인트|마일리지|points?\b", re.IGNORECASE),
    "status": re.compile(r"상태|(어떻게|어케|어캐)\s*(됐|되었|되고|돼|되가|돼가|되어\s*가)|처리\s*(끝|완료|다\s*됐)|진행\s*상황|처리\s*(됐|되었)|status"
                         # «된장찌개밀키트 배송됐나요?», «만두 왔나요»: whether the order named has come
                         r"|" + _CAME_ASKED,
                         re.IGNORECASE),
}
# "…가 있어요?": asks whether such orders exist (a list of them), e.g. "취소된 주문 있어요?"
EXISTS_QUESTION = re.compile(r"(주문|건|거|것)\s*(이|은|도)?\s*(있|없)|\b(do|did)\s+i\s+have\s+(any|anything)\b|\bany\s+orders?\b",
                             re.IGNORECASE)

# («취소좀 해주세요»: 좀 between the noun and the verb)
ACTIONS: dict[str, re.Pattern[str]] = {
    "address": re.compile(r"(주소|배송지|받는\s*(분|사람|곳))\s*(를|을|좀)?\s*(변경|바꾸|바꿀|바꿔|수정|고치|잘못)"
                          r"|change\s+(the\s+|my\s+)?(delivery\s+)?address", re.IGNORECASE),
    "cancel": re.compile(r"취소\s*(?:좀\s*)?(해|하고\s*싶|할래|할게|원해|원합|부탁|요청|가능|돼요|되나|되요|되죠|돼죠|될까|되는지|할\s*수|하려|하면\s*안)"
                         r"|\bcancel\b", re.IGNORECASE),
    "exchange": re.compile(r"교환\s*(?:좀\s*)?(해|하고\s*싶|할래|할게|원해|원합|부탁|가능|돼요|되나|되요|되죠|돼죠|될까|되는지|할\s*수|하려|받고)"
                           r"|exchange\s+(it|my|the|this)", re.IGNORECASE),
    "return": re.compile(r"(반품|환불)\s*(?:좀\s*)?(해|하고\s*싶|할래|할게|원해|원합|부탁|가능|돼요|되나|되요|되죠|돼죠|될까|되는지|할\s*수|하려|받고\s*싶)"
                         r"|\breturn\s+(it|my|the|this)|\brefund\s+(it|my|me)", re.IGNORECASE),
}
# "그럼 그거 취소는요?", "반품은요?" after an answer about an order: that action on that order
_ACTION_ALONE = re.compile(r"^(?:(?:그|이|저)\s*(?:거|것|주문|건)\s*|그거\s*|이거\s*)?"
                           r"(?P<noun>취소|반품|환불|교환|배송지\s*변경|주소\s*변경)$")
_ACTION_OF_NOUN = {"취소": "cancel", "반품": "return", "환불": "return", "교환": "exchange"}


def elliptic_action(fragment: str) -> str | None:
    """The action an elliptic fragment names alone ("그거 취소" → "cancel"), or None."""
    m = _ACTION_ALONE.match(fragment.strip())
    if not m:
        return None
    return _ACTION_OF_NOUN.get(m.group("noun"), "address")


# a claim already asked for: "교환 신청한 거 어떻게 됐어요" is a status question, not a new request
# ("아직 취소 되죠?" asks whether it still can be; "아직 처리 안 됐어요?" asks about the claim)
CLAIM_FOLLOWUP = re.compile(r"(신청|요청|접수)\s*(을|를)?\s*(한|했|하신|된|드린|넣은|넣었|넣어\s*(?:둔|놓|뒀|놨))|어떻게\s*(됐|되었)|진행\s*(상황|중)"
                            # (not «배송지 바꾸고 싶어요 아직 안 나갔죠?»: whether it can still be done)
                            r"|아직\s*(도\s*)?(안\s*(?:됐|되었|돼|되|왔|들어|해\s*주|가져|회수|보내\s*주)|처리|연락|답|소식)"
                            # «반품해 달라고 했는데»: asked before
                            r"|달라고\s*(했|말씀|요청|부탁)")

# --- statuses -----------------------------------------------------------------------------------------
NOT_YET_RECEIVED = re.compile(r"(아직\s*)?(안|(?<!잘)못)\s*(온|받은|도착한)\s*(거|것|게|주문|건|택배)"
                              r"|not\s+(arrived|delivered)\s+yet|haven'?t\s+(arrived|come|been\s+delivered)", re.IGNORECASE)
STATUS_WORDS: list[tuple[re.Pattern[str], tuple[str, ...], tuple[str, ...]]] = [
    # (pattern, order statuses, claim types)
    (re.compile(r"배송\s*중|오고\s*있|출고\s*된|발송\s*된|on\s+its\s+way|in\s+transit|shipping|being\s+shipped", re.IGNORECASE),
     ("shipping",), ()),
    (re.compile(r"배송\s*완료|(?<!안)(?<!안\s)(?<!못)(?<!못\s)(도착\s*한|받은\s*(거|것|주문))|(?<!not\s)(?<!n't\s)delivered",
                re.IGNORECASE), ("delivered",), ()),
    (re.compile(r"취소\s*(된|한|됐|되었|했던|됐던|처리\s*된|건|내역|신청|요청|접수)|cancel(l)?ed", re.IGNORECASE),
     ("cancelled",), ("cancel",)),
    (re.compile(r"반품\s*(된|한|됐|했던|됐던|완료|처리\s*된|건|내역|신청|요청|접수)|returned|return\s+request|\bmy\s+return\b",
                re.IGNORECASE), ("returned",), ("return",)),
    # («환불 들어왔는지 확인 좀요», «환불금 입금됐나요»: the refund of a cancelled or returned order)
    (re.compile(r"환불\S{0,2}\s*(된|받은|됐|완료|건|내역|신청|요청|접수|들어\s*(왔|온|와|갔|간)|입금|처리\s*(됐|된))|refunded",
                re.IGNORECASE), ("returned", "cancelled"),
     ("refund",)),
    (re.compile(r"교환\s*(된|한|됐|완료|건|신청|요청|내역)|exchanged", re.IGNORECASE), ("exchanged",), ("exchange",)),
    (re.compile(r"결제\s*완료|준비\s*중|출고\s*전|아직\s*안\s*(나간|보낸)", re.IGNORECASE), ("paid", "preparing"), ()),
    # «산 거 중에 아직 안 온 거 있어?»: every order not delivered yet
    (NOT_YET_RECEIVED, ("paid", "preparing", "shipping"), ()),
]

# --- dates ---------------------------------------------------------------------------------------------
_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})\s*(?:월\s*(\d{1,2})\s*일|[/.](\d{1,2})(?![\d/.]))")
_MONTH = re.compile(r"(?<!\d)(\d{1,2})\s*월(?!\s*\d)")
# «지난달 26일», «이번 달 3일에 주문한 거»: a day of the month named by the month's word
_RELATIVE_MONTH_DAY = re.compile(r"(지난|저번|이번)\s*달\s*(\d{1,2})\s*일")
# «작년에 산 사골곰탕», «올해 주문한 거»: a calendar year
_YEAR_WORD = re.compile(r"재작년|작년|지난\s*해(?![외가-힣])|올해|금년|last\s+year|this\s+year", re.IGNORECASE)


def _years_back(word: str) -> int:
    word = word.lower()
    return 2 if word == "재작년" else 0 if word in ("올해", "금년") or "this" in word else 1
_DAY_OF_MONTH = re.compile(r"(?<![\d월/.])(\d{1,2})\s*일\s*(에|날|자|주문)")
_DAYS_AGO = re.compile(r"(?P<count>\d{1,2}|한|두|세|네|닷|열)\s*(?P<unit>일|주)\s*전"
                       # «이틀 전에 시킨 거», «일주일 전»: days counted in words
                       r"|(?<![가-힣])(?P<days>하루|이틀|사흘|나흘|닷새|일주일|열흘|보름)\s*전(?![화부날체])(?!\s*까지)"
                       # "the order I placed 2 days ago", "a week ago"
                       r"|\b(?P<en_count>\d{1,2}|an?|one|two|three|four|five|six|ten)\s+(?P<en_unit>days?|weeks?)\s+ago\b",
                       re.IGNORECASE)
_COUNT_WORDS = {"한": 1, "두": 2, "세": 3, "네": 4, "닷": 5, "열": 10, "하루": 1, "이틀": 2, "사흘": 3, "나흘": 4, "닷새": 5,
                "일주일": 7, "열흘": 10, "보름": 15,
                "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "ten": 10}
RELATIVE_DAYS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"엊그제|엊그저께"), "엊그제"),
    (re.compile(r"그저께|그제|day\s+before\s+yesterday", re.IGNORECASE), "그저께"),
    (re.compile(r"(?<![가-힣])어제|yesterday", re.IGNORECASE), "어제"),
    # («택배 오늘 와요?», «오늘 도착한 거»: the day it comes, not the day it was ordered)
    (re.compile(r"오늘(?!\s*(?:안에|중에|중으로|내로|까지)?\s*(?:와|오|옴|도착|받|출고|발송|나가|나갈|출발|보내))|today",
                re.IGNORECASE), "오늘"),
    (re.compile(r"지난\s*주|저번\s*주|last\s+week", re.IGNORECASE), "지난주"),
    (re.compile(r"이번\s*주|this\s+week", re.IGNORECASE), "이번 주"),
    (re.compile(r"지난\s*달|저번\s*달|last\s+month", re.IGNORECASE), "지난달"),
    (re.compile(r"이번\s*달|this\s+month", re.IGNORECASE), "이번 달"),
]
# a weekday named alone: the latest such day, today included ("월요일에 주문한 거", "the order i placed on monday")
WEEKDAY_NAMED = re.compile(r"(?<![가-힣])(월|화|수|목|금|토|일)(?:요일|욜)"
                           r"|\b(mon|tues|wednes|thurs|fri|satur|sun)day\b", re.IGNORECASE)
_WEEKDAY_INDEX = {**{k: i for i, k in enumerate("월화수목금토일")},
                  **{k: i for i, k in enumerate(("mon", "tues", "wednes", "thurs", "fri", "satur", "sun"))}}
# («이번에 떡볶이 2개 시킨 거», «이번 주문»: this time, the newest; not «이번 주», a week)
LATEST = re.compile(r"마지막|방금|아까|(?:가장|제일|젤)\s*최근|최근\s*(?:에\s*)?(?:꺼|껏|거\s*(?:하나|요|는|가))|last\s+order|latest|"
                    # «지난번 주문 배송 완료 됐나요», «저번에 시킨 거»: the last one (not «저번에 산 갈비탕»: a product named)
                    r"(?:지난번|저번|요전)\s*(?:에\s*)?(?:주문(?:한\s*(?:거|것|게|건))?|(?:시킨|산)\s*(?:거|것|게|건))(?!\s*(?:들|목록|내역))|"
                    r"이번에\s+(?:[가-힣]+\s+){0,2}?(?:\d+\s*[가-힣]{0,2}\s+)?(?:시킨|주문한|산|구매한|결제한)|이번\s*(?:주문|거|꺼|건)(?![가-힣])",
                    re.IGNORECASE)
# «택배 아직도 안 왔어요 언제 와요»: the parcel they wait for is one already sent (not today's order, still packed)
PARCEL_AWAITED = re.compile(r"택배|소포|(?:아직|안)\s*(?:도\s*)?(?:안\s*)?(?:왔|와|오|도착)|hasn'?t\s+(?:arrived|come)|not\s+(?:arrived|here)"
                            r"|still\s+waiting", re.IGNORECASE)
# «11월에 총 얼마 썼어요», «다 합쳐서 얼마예요», "how much in total": the sum of the orders meant
TOTAL = re.compile(r"총\s*(?:얼마|금액|액|합|결제|몇)|합계|합쳐|합해|합하면|다\s*해서|통틀어|얼마\s*(?:나\s*)?썼|얼마\s*썻"
                   r"|\bin\s+total\b|\baltogether\b|\btotal\b|how\s+much\s+(?:have|did)\s+i\s+spen[dt]", re.IGNORECASE)
# «각각 얼마», «둘 다 언제 와요?», "both", "each": the fact of every order meant, not of the newest
EACH = re.compile(r"각각|(?:둘|세\s*개|두\s*(?:개|건|번|주문))\s*(?:다|모두|각각)(?![가-힣])|\beach\b|\bboth\b", re.IGNORECASE)
# «두 개 시킨 거 각각», «주문 세 건 다»: how many orders the customer means
ORDERS_COUNTED = re.compile(r"(?<![가-힣\d])(두|세|2|3)\s*(?:개|건|번)\s*(?:시킨|주문|산|결제|다)|주문\s*(두|세|2|3)\s*(?:개|건)"
                            r"|(?<![가-힣])(둘|셋)\s*(?:다|모두)")
ALL_RECENT = re.compile(r"최근|요즘|전부|모두|다\s*(보여|알려)|전체|all\s+(my\s+)?orders|recent", re.IGNORECASE)

# «취소된 거 빼고», «반품한 건 제외하고», «배송중인 거 말고»: what follows a status word that leaves it out
LEFT_OUT = re.compile(r"\s*(?:인|된)?\s*(?:거|것|건|주문|게)?\s*(?:은|는|이|가|을|를)?\s*(?:빼고|빼면|뺀|빼서|제외|말고|외에|except)",
                      re.IGNORECASE)

# --- products --------------------------------------------------------------------------------------------
# nouns of order talk that name no product (the rest of a question's nouns may be one)
_NOT_PRODUCT_WORDS = """
주문 배송 택배 상품 물건 제품 거 것 게 제 저 내 우리 고객 송장 운송장 번호 상태 결제 금액 배송비 택배비 배송료 택비 무배 무료배송 환불 반품 교환 취소
내역 목록 리스트 이력 최근 요즘 쿠폰 적립금 포인트 마일리지 도착 주소 배송지 어제 오늘 그제 그저께 엊그제 내일 주 달 월 일
며칠 날짜 기억 각각 지난주 이번 지난 저번 지난달 요청 신청 접수 처리 진행 확인 조회 문의 택배사 운송 얼마 전부 전체 수량 개 구성 품목 정도
출고 발송 예정 완료 중 준비 문자 연락 답변 상담 상담원 사람 언제 어디 쯤 날 때 시간 건 쪽 부분 혹시 다 하나 두 개수 총
총액 가격 비용 원 돈 카드 계좌 영수증 마이페이지 앱 사이트 수수료 이유 사유 가능 불가 방법 기간 오후 오전 정 안 못 좀 산
제외 이번달 저번달 요번달 다음달 이번주 저번주 요번주 다음주 당월 전월 금월 주문번호 주문건 뒷자리 결과 전 후 출발 작년 재작년 올해 금년 우체국 대한통운 씨제이 한진 롯데 로젠 cj 택배사 마지막 처음 방금 아까 가장 제일 지난번 요번 예전 먼저 나중 휴대폰 전화 번호 핸드폰 order orders package parcel item items delivery tracking status refund return
하루 이틀 사흘 나흘 닷새 일주일 열흘 보름
exchange cancel my the when where what how much did is was
"""
NOT_PRODUCT = frozenset(_NOT_PRODUCT_WORDS.split())
_VOCABULARY_TAILS = sorted((w for w in NOT_PRODUCT if len(w) >= 2 and re.match(r"[가-힣]", w)), key=len, reverse=True)
_NOUN_TAGS = ("NNG", "NNP", "SL", "XR")
# "그 주문은요?", "그거는요?": the order the previous answer was about
# («그거 말고 오늘 주문한 것들은요?», «그 주문이 아니라 …», "not that order": another order)
THAT_ORDER = re.compile(r"(?:^(그|저|이)\s*(주문|거|것|건|걸|택배|상품)|^그거|^이거|^저거|(?<!not\s)that\s+order|"
                        r"^that\s+one)(?!\s*(?:은|는|이|가)?\s*(?:말고|빼고|아니고|아니라|말구|외에|말곤|제외|대신))",
                        re.IGNORECASE)
ELLIPTIC = re.compile(
    r"^(?:그럼|그러면|그리고|혹시|아|음|근데|그런데)?\s*(?P<frag>[^?？.!]{1,24}?)\s*(?:은|는|도)\s*(?:요|여|용)?\s*[?？.!~ㅠㅜ]*$"
    r"|^(?:what|how)\s+about\s+(?P<frag_en>[^?]{1,30})\??$|^and\s+(?P<frag_and>[^?]{1,30})\?$",
    re.IGNORECASE)


@dataclass(frozen=True)
class OwnDataQuery:
    """Slots and facts of a question about the customer's own data (all optional)."""

    facts: tuple[str, ...] = ()
    action: str | None = None
    order_ids: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    since: str | None = None  # ISO datetimes, KST-aware: the state is JSON
    until: str | None = None
    date_label: str | None = None
    statuses: tuple[str, ...] = ()
    claim_types: tuple[str, ...] = ()
    all_recent: bool = False
    same_order: bool = False  # "그 주문은요?": the previous answer's order
    latest: bool = False  # "마지막으로 주문한 거": the newest order, open or not
    exists_question: bool = False  # "취소된 주문 있어요?"
    each: bool = False  # «각각 얼마 결제됐어요?»: the fact of every matching order
    orders_counted: int = 0  # «두 개 시킨 거»: how many orders the customer speaks of (0: not said)
    total: bool = False  # «11월에 총 얼마 썼어요?»: the sum of the matching orders' amounts
    parcel_awaited: bool = False  # «택배 아직 안 왔어요»: the order on its way, rather than the newest open one
    extra: dict[str, Any] = field(default_factory=dict)

    couriers: tuple[str, ...] = ()  # «한진으로 온 거»: the courier that brought it, as order records name it

    @property
    def selects(self) -> bool:
        """Does the question name which orders (beyond "my order")?"""
        return bool(self.order_ids or self.products or self.since or self.statuses or self.claim_types
                    or self.all_recent or self.same_order or self.couriers)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> OwnDataQuery:
        if not data:
            return cls()
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("facts", "order_ids", "products", "statuses", "claim_types", "couriers"):
            known[key] = tuple(known.get(key) or ())
        return cls(**known)


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time(0), KST)


# "in November", "Nov 20th", "the 3rd of March": read as «11월», «11월 20일», «3월 3일». A month alone only after a
# preposition ("in May", "from Dec"), never inside a name or an address («Jan», «june.park@…»), nor with a year (the
# Korean month words mean this year's or last year's)
_EN_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_EN_MONTH_NAME = (r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
                  r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")
_EN_DAY = r"(?:st|nd|rd|th)?(?![\w@])(?!\s*(?:days?|weeks?|hours?|items?|boxes|packs?|pcs|am|pm)\b)"
_EN_MONTH = re.compile(
    rf"(?<![\w.@])(?:(?P<day_before>\d{{1,2}}){_EN_DAY}\s+(?:of\s+)?(?P<month_a>{_EN_MONTH_NAME})(?:\.(?!\w)|\b)"
    rf"|(?P<month_b>{_EN_MONTH_NAME})(?:\.(?!\w)|\b)\s*(?P<day_after>\d{{1,2}}){_EN_DAY}"
    rf"|(?P<prep>\b(?:in|on|of|from|since|last|this|by|for|during|early|late|mid)\s+)(?P<month_c>{_EN_MONTH_NAME})"
    rf"(?:\.(?!\w)|\b)(?:\s*(?P<day_c>\d{{1,2}}){_EN_DAY})?"
    rf"(?![@\w])(?!\.\w))(?!,?\s*\d{{4}})",
    re.IGNORECASE)


def _korean_month_words(text: str) -> str:
    def korean(m: re.Match[str]) -> str:
        name = m.group("month_a") or m.group("month_b") or m.group("month_c")
        month = _EN_MONTHS.index(name[:3].lower()) + 1
        day = m.group("day_before") or m.group("day_after") or m.group("day_c")
        said = f"{month}월 {int(day)}일" if day else f"{month}월"
        return f"{m.group('prep') or ''}{said}"
    return _EN_MONTH.sub(korean, text)


def date_range(text: str, now: datetime) -> tuple[datetime, datetime, str] | None:
    """[since, until) in KST for the date word of `text` (None when it names no date)."""
    text = _korean_month_words(text)
    today = now.astimezone(KST).date()
    tomorrow = today + timedelta(days=1)
    year_word = _YEAR_WORD.search(text)
    years_back = _years_back(year_word.group(0)) if year_word else None
    m = _MONTH_DAY.search(text)
    if m and years_back is not None:  # «작년 11월 7일에 산 거»: that day of that year
        month, day = int(m.group(1)), int(m.group(2) or m.group(3))
        try:
            d = date(today.year - years_back, month, day)
        except ValueError:
            d = None
        if d is not None and d <= today:
            return _day_start(d), _day_start(d + timedelta(days=1)), f"{d.year}년 {month}월 {day}일"
    month_only = _MONTH.search(text)
    if month_only and years_back is not None and 1 <= int(month_only.group(1)) <= 12:
        month = int(month_only.group(1))  # «올해 5월에 산 거», «작년 12월에 얼마 썼어요»
        year = today.year - years_back
        if date(year, month, 1) <= today:
            hi_m = date(year + (month == 12), month % 12 + 1, 1)
            return _day_start(date(year, month, 1)), _day_start(min(hi_m, today + timedelta(days=1))), \
                f"{year}년 {month}월"
    if m:
        month, day = int(m.group(1)), int(m.group(2) or m.group(3))
        if 1 <= month <= 12 and 1 <= day <= 31:
            try:
                d = date(today.year, month, day)
            except ValueError:
                d = None
            if d is not None:
                if d > today:
                    d = d.replace(year=today.year - 1)
                return _day_start(d), _day_start(d + timedelta(days=1)), f"{month}월 {day}일"
    m = _RELATIVE_MONTH_DAY.search(text)
    if m:
        first = today.replace(day=1)
        month_start = (first - timedelta(days=1)).replace(day=1) if m.group(1) != "이번" else first
        day = int(m.group(2))
        try:
            d = month_start.replace(day=day)
        except ValueError:
            d = None
        if d is not None and d <= today:
            return _day_start(d), _day_start(d + timedelta(days=1)), f"{d.month}월 {d.day}일"
    for pattern, label in RELATIVE_DAYS:
        if not pattern.search(text):
            continue
        monday = today - timedelta(days=today.weekday())
        first = today.replace(day=1)
        spans = {
            "오늘": (today, tomorrow), "어제": (today - timedelta(days=1), today),
            "그저께": (today - timedelta(days=2), today - timedelta(days=1)),
            "엊그제": (today - timedelta(days=3), today - timedelta(days=1)),
            "이번 주": (monday, tomorrow), "지난주": (monday - timedelta(days=7), monday),
            "이번 달": (first, tomorrow), "지난달": ((first - timedelta(days=1)).replace(day=1), first),
        }
        lo, hi = spans[label]
        return _day_start(lo), _day_start(hi), label
    m = WEEKDAY_NAMED.search(text)
    if m:
        weekday = _WEEKDAY_INDEX[(m.group(1) or m.group(2)).lower()]
        d = today - timedelta(days=(today.weekday() - weekday) % 7)
        return _day_start(d), _day_start(d + timedelta(days=1)), f"{d.month}월 {d.day}일"
    if year_word is not None and years_back is not None:
        year = today.year - years_back
        hi_day = date(year + 1, 1, 1) if year < today.year else today + timedelta(days=1)
        label = {0: "올해", 1: "작년", 2: "재작년"}[years_back]
        return _day_start(date(year, 1, 1)), _day_start(hi_day), label
    m = _DAYS_AGO.search(text)
    if m:
        count, unit = (m["count"], m["unit"]) if m["count"] else ("1", "주") if m["days"] == "일주일" \
            else (m["days"], "일") if m["days"] else (m["en_count"].lower(), m["en_unit"].lower())
        weeks = unit == "주" or unit.startswith("week")
        n = int(count) if count.isdigit() else _COUNT_WORDS[count]
        days = n * (7 if weeks else 1)
        lo = today - timedelta(days=days + (3 if weeks else 1))  # "3일 전": people round
        hi = today - timedelta(days=max(0, days - (3 if weeks else 1)) - 1)
        return _day_start(lo), _day_start(hi), m.group(0)
    m = _MONTH.search(text)
    if m and 1 <= int(m.group(1)) <= 12:
        month = int(m.group(1))
        year = today.year if month <= today.month else today.year - 1
        lo_d = date(year, month, 1)
        hi_d = date(year + (month == 12), month % 12 + 1, 1)
        return _day_start(lo_d), _day_start(hi_d), f"{month}월"
    m = _DAY_OF_MONTH.search(text)
    if m and 1 <= int(m.group(1)) <= 31:
        day = int(m.group(1))
        d = today.replace(day=min(day, 28)) if day > 28 else today.replace(day=day)
        if d > today:
            prev = (today.replace(day=1) - timedelta(days=1))
            d = prev.replace(day=min(day, prev.day))
        return _day_start(d), _day_start(d + timedelta(days=1)), f"{d.month}월 {d.day}일"
    return None


@lru_cache(maxsize=4096)
def noun_runs(text: str) -> tuple[str, ...]:
    """Runs of adjacent nouns as written ("에어" + "프라이어" → "에어프라이어"; "김치 손만두" stays two)."""
    runs: list[str] = []
    end = -1
    for tok in analysis(text):  # shared with the search's analysis of the same text
        if tok.tag in _NOUN_TAGS:
            if runs and tok.start == end:
                runs[-1] += tok.form
            else:
                runs.append(tok.form)
            end = tok.start + tok.len
        else:
            end = -1
    return tuple(runs)


ENGLISH_PRODUCT_WORDS_PATH = PACKAGE_DATA / "product_words_en.tsv"


@lru_cache(maxsize=1)
def _english_product_words() -> tuple[re.Pattern[str], dict[str, str]]:
    """The bundled English food and kitchen words → the Korean word product names contain, as one pattern
    (longest phrase first, whole words)."""
    words = {k.lower(): v for k, v in read_lexicon(ENGLISH_PRODUCT_WORDS_PATH).items()}
    alternatives = sorted(words, key=len, reverse=True)
    pattern = re.compile(r"\b(?:" + "|".join(r"\s+".join(map(re.escape, w.split())) for w in alternatives) + r")\b",
                         re.IGNORECASE)
    return pattern, words


def english_product_words(text: str) -> tuple[str, ...]:
    """The Korean product words an English message names ("my bulgogi kit" → 불고기, "the dumplings" → 만두)."""
    pattern, words = _english_product_words()
    found = (words[" ".join(m.group(0).lower().split())] for m in pattern.finditer(text))
    return tuple(dict.fromkeys(found))


def product_words(text: str) -> tuple[str, ...]:
    """Nouns of `text` that may name a product (order vocabulary, dates and numbers removed); in an English
    message, the English names of the shop's kinds of products (`english_product_words`)."""
    cleaned = ORDER_ID.sub(" ", text)
    korean = bool(re.search(r"[가-힣]", text))
    if not korean:
        return english_product_words(cleaned)
    out: list[str] = []
    for run in noun_runs(cleaned):
        word = run  # as typed («LA갈비»): the answer repeats it; matching ignores case
        if word.lower() in NOT_PRODUCT or word.isdigit() or (len(word) < 2 and not re.search(r"[가-힣]", word)):
            continue
        # a run may end in order vocabulary: "만두주문" → "만두", "송장번호" → "송장" → nothing
        stripped = True
        while stripped and word.lower() not in NOT_PRODUCT:
            stripped = False
            for tail in _VOCABULARY_TAILS:
                if word.endswith(tail) and len(word) > len(tail):
                    word, stripped = word[: -len(tail)], True
                    break
        if len(word) == 1 and not re.search(rf"(?<![가-힣]){re.escape(word)}\s*(?:을|를|은|는|이|가|도)?\s*{_BOUGHT}", cleaned):
            continue  # «목 빠지게 기다리는 중»: a word of one syllable names a product only as the thing bought («떡 시킨 거»)
        if word.lower() not in NOT_PRODUCT and word not in out:
            out.append(word)
    return tuple(out)


_BOUGHT = r"(?:시킨|시켰|주문|산\s|샀|구매|받은|받았|왔|온\s|배송|택배|언제)"


_PAST_TYPOS = str.maketrans({"햇": "했", "냇": "냈", "낫": "났", "됏": "됐", "왓": "왔", "갓": "갔", "삿": "샀", "켯": "켰", "봣": "봤",
                             "엇": "었", "왯": "왔"})


# «머머 담았었죠?», «머 시켰더라»: «뭐» typed without its ㅜ
_MEO = re.compile(r"(?<![가-힣])(?:머(머)|머(?!지\s*않|지\s*포인트|가리)(?=\s|[?？]|$|(?:를|가|였|야|지|죠|더라|시켰|샀|담았|주문)))")


# «뭐뭐 잇엇죠», «재고 잇나요»: «있» typed with ㅅ (not «잇몸», «잇다»)
_ISS = re.compile(r"(?<![가-힣])잇(?=었|엇|어|나요|나여|죠|음|을까)")  # (not «잇는지», 잇다)


def respell(text: str) -> str:
    """"주문햇는데 결제 됏나요" → "주문했는데 결제 됐나요": the past tense typed with ㅅ for ㅆ (and «잇» for «있»);
    «머머» → «뭐뭐»."""
    text = _ISS.sub("있", text).translate(_PAST_TYPOS)
    return _MEO.sub(lambda m: "뭐뭐" if m.group(1) else "뭐", text)


# «한진으로 온 거», «우체국택배로 보내신 거», «CJ로 받은 택배»: the courier that brought (or brings) an order
COURIER_OF_ORDER = re.compile(r"(?<![가-힣a-z])(한진|우체국|cj|씨제이|대한통운|롯데|로젠)\s*(?:택배)?\s*(?:으로|로)\s*"
                              r"(?:온|왔|오는|온다는|보낸|보내신|보내주신|받은|배송된|발송된)", re.IGNORECASE)
_COURIER_WORD = {"씨제이": "대한통운", "cj": "대한통운"}  # how the order records name it (CJ대한통운)


def couriers_named(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_COURIER_WORD.get(m.group(1).lower(), m.group(1))
                               for m in COURIER_OF_ORDER.finditer(text)))


def _orders_counted(text: str) -> int:
    m = ORDERS_COUNTED.search(text)
    if m is None:
        return 0
    said = m.group(1) or m.group(2) or m.group(3)
    return {"두": 2, "둘": 2, "세": 3, "셋": 3}.get(said) or int(said)


def parse_own_query(text: str, now: datetime) -> OwnDataQuery:
    """Facts, action and slots of `text` (a message about the customer's own data, or not)."""
    text = respell(text)
    facts = tuple(name for name, pattern in FACT_PATTERNS.items() if pattern.search(text))
    if EACH.search(text) and "amount" not in facts and re.search(r"얼마|how\s+much", text, re.IGNORECASE):
        facts = (*facts, "amount")  # «두 개 시킨 거 각각 얼마예요?»: what each cost
    action = None
    for name, pattern in ACTIONS.items():
        if pattern.search(text):
            action = name
            break
    statuses: list[str] = []
    claim_types: list[str] = []
    for pattern, order_statuses, claims in STATUS_WORDS:
        # «취소된 거 빼고 총 얼마»: a status named to leave its orders out selects none of them
        if any(not LEFT_OUT.match(text, m.end()) for m in pattern.finditer(text)):
            statuses += [s for s in order_statuses if s not in statuses]
            claim_types += [c for c in claims if c not in claim_types]
    if action is not None and CLAIM_FOLLOWUP.search(text):
        action = None  # "교환 신청한 거 어떻게 됐어요?": the claim's status
    if action is not None:
        # "취소해 주세요": the request's own word names no status of the order to pick; a state said of the
        # order does («배송중인 주문 취소할래요»: the one on its way, not the paid one)
        # (an order on its way or delivered: what can be done differs; «결제완료 된 거 취소할게요» needs no pick)
        said = [s for pattern, order_statuses, claims in STATUS_WORDS if not claims and pattern.search(text)
                for s in order_statuses if set(order_statuses) <= {"shipping", "delivered"}]
        statuses, claim_types = [s for s in statuses if s in said], []
    span = date_range(text, now)
    order_ids = tuple(dict.fromkeys(m.group(0).upper() for m in ORDER_ID.finditer(text)))
    return OwnDataQuery(
        facts=facts, action=action, order_ids=order_ids, products=product_words(text),
        since=span[0].isoformat() if span else None, until=span[1].isoformat() if span else None,
        date_label=span[2] if span else None, statuses=tuple(statuses), claim_types=tuple(claim_types),
        all_recent=bool(ALL_RECENT.search(text)) or "list" in facts,
        same_order=bool(THAT_ORDER.search(text.strip())), latest=bool(LATEST.search(text)),
        exists_question=bool(EXISTS_QUESTION.search(text)), each=bool(EACH.search(text)),
        orders_counted=_orders_counted(text), couriers=couriers_named(text),
        total=bool(TOTAL.search(text)), parcel_awaited=bool(PARCEL_AWAITED.search(text)))


# «토욜도 해요?», «제주도도 돼요?»: a day, a time or a place with a light verb asks the previous question of it
# (a topic noun with the same verb, «반품도 되나요?», asks a question of its own)
_ELLIPTIC_LIGHT = re.compile(
    r"^(?:그럼|그러면|혹시|근데)?\s*(?P<frag>[^?？.!]{1,12}?)\s*(?:도|은|는)\s*(?:해요|하나요|하세요|하죠|돼요|되나요|되요|되죠|"
    r"가능해요|가능한가요)\s*[?？.!~ㅠㅜ]*$")
WHEN_OR_WHERE = re.compile(r"요일|토욜|일욜|주말|공휴일|휴일|명절|연휴|설날|추석|오늘|내일|모레|아침|저녁|밤|새벽|점심|"
                            r"제주|도서|산간|울릉|섬")
# «카카오페이로 결제한 건요?», «무통장으로 낸 거는요?», «휴대폰 결제로 한 건요?»: the previous question of another way
# of paying or ordering
_ELLIPTIC_MEANS = re.compile(
    r"^(?:그럼|그러면|혹시|근데)?\s*(?P<frag>(?:[^?？.!\s]{1,8}\s)?[^?？.!\s]{1,12}?)\s*(?:으로|로)\s*(?:결제|주문|구매|계산)?\s*"
    r"(?:한|했던|하신|산|낸|시킨)\s*(?:건|거|것|걸)\s*(?:은|는)?\s*(?:요|여)?\s*[?？.!~ㅠㅜ]*$")

# «전자렌지로 하면요?», «에어프라이어로는요?»: the previous question done another way
_ELLIPTIC_WAY = re.compile(
    r"^(?:그럼|그러면|혹시|근데)?\s*(?P<frag>[^?？.!\s]{2,12}?)\s*(?:으로|로)\s*(?:하면|해도\s*(?:돼|되)\S*|돌리면|데우면|는)?"
    r"\s*(?:요|여|용)?\s*[?？.!~ㅠㅜ]*$")


# «갈비탕인데요», «냉동이에요» after «반품하고 싶어요»: what the previous question was about, told with the copula
_ELLIPTIC_IS = re.compile(r"^(?:아|음|그게|저|제\s*거)?\s*(?P<frag>[가-힣A-Za-z0-9][가-힣A-Za-z0-9 ]{0,11}?)\s*"
                          r"(?:인데요|인데여|인뎅|이에요|예요|에요|이에여|예여|이거든요|거든요)\s*[?？.!~ㅠㅜ;]*$")


_TOLD_ASKS = re.compile(r"얼마|언제|어디|뭐|머|무엇|몇|왜|어떻|누구|무슨|어느|\s(?:은|는|이|가)\s|[가-힣](?:은|는)\s")


def tells_detail(text: str) -> bool:
    """The line tells what the previous question was about («갈비탕인데요»), adding to it, not asking it anew."""
    told = _ELLIPTIC_IS.match(text.strip())
    return told is not None and elliptic_fragment(text) == told.group("frag").strip()


def elliptic_fragment(text: str) -> str | None:
    """The fragment of an elliptic follow-up ("제주도는요?" → "제주도", "그 주문은요?" → "그 주문"), or None
    for a message that stands on its own (it has a predicate of its own or is long)."""
    stripped = text.strip()
    for form in (_ELLIPTIC_LIGHT, _ELLIPTIC_MEANS, _ELLIPTIC_WAY):
        found = form.match(stripped)
        if found and (form is not _ELLIPTIC_LIGHT or WHEN_OR_WHERE.search(found.group("frag"))):
            return found.group("frag").strip()
    told = _ELLIPTIC_IS.match(stripped)
    m = told or ELLIPTIC.match(stripped)
    if not m:
        return None
    frag = told.group("frag").strip() if told else \
        (m.group("frag") or m.group("frag_en") or m.group("frag_and") or "").strip()
    if told and (re.fullmatch(r"(?:그|이|저|요)\s*(?:거|것|게|건|거예|걸)", frag) or _TOLD_ASKS.search(frag)
                 or len(frag.split()) > 2):
        return None  # «그거예요»: the thing just named, no topic; «배송비 얼마예요»: a question of its own
    # "And to Jeju?" → "Jeju", "and the galbitang?" → "galbitang"
    frag = re.sub(r"^(?:(?:to|for|in|on|about|with|the|a|an)\s+)+", "", frag, flags=re.IGNORECASE)
    if not frag or len(frag) > 24:
        return None
    kiwi, lock = kiwi_analyser()
    with lock:
        tokens = kiwi.tokenize(frag)
    if any(t.tag.startswith(("VV", "VA", "XSV", "XSA", "EF")) for t in tokens):
        return None  # "배송 언제 되는요" has its own predicate
    return frag


def merge_followup(previous: OwnDataQuery, fragment: OwnDataQuery) -> OwnDataQuery:
    """The previous question's slots with what the follow-up names on top ("에어프라이어는요?" changes the
    product and keeps the date and the facts; "그 주문은요?" keeps the previous order)."""
    merged = previous
    if fragment.order_ids:
        merged = replace(merged, order_ids=fragment.order_ids, products=(), since=None, until=None,
                         date_label=None, statuses=(), claim_types=(), same_order=False)
    if fragment.products:
        merged = replace(merged, products=fragment.products, order_ids=(), same_order=False)
    if fragment.since:
        merged = replace(merged, since=fragment.since, until=fragment.until, date_label=fragment.date_label,
                         order_ids=(), same_order=False)
    if fragment.statuses or fragment.claim_types:
        merged = replace(merged, statuses=fragment.statuses, claim_types=fragment.claim_types, order_ids=(),
                         same_order=False)
    if fragment.couriers:
        merged = replace(merged, couriers=fragment.couriers, order_ids=(), same_order=False)
    if fragment.latest:  # «젤 최근에 한거요» after a list of their orders: the newest of them
        merged = replace(merged, latest=True, all_recent=False, order_ids=(), same_order=False)
    if fragment.facts:
        merged = replace(merged, facts=fragment.facts)
    if fragment.action:
        merged = replace(merged, action=fragment.action)
    if fragment.same_order:
        merged = replace(merged, same_order=True)
    return merged


# --- in-chat verification -------------------------------------------------------------------------------
_MOBILE = re.compile(r"(?<!\d)01[016789][-\s.]?\d{3,4}[-\s.]?(\d{4})(?!\d)")
_FOUR_DIGITS = re.compile(r"(?<![\d-])(\d{4})(?![\d-])")
# a message that is only the 4 digits ("1234", "뒷자리 1234요", "1234 입니다")
ONLY_DIGITS = re.compile(r"^[가-힣A-Za-z\s:]{0,16}(?<!\d)(\d{4})(?!\d)\s*(?:요|이요|입니다|이에요|예요|번|번이요|번입니다)?"
                         r"\s*[.!?~]*$")


def verification_parts(text: str) -> tuple[str | None, str | None]:
    """(order number, last 4 phone digits) a guest typed to prove an order is theirs: "O-20261120-00012
    1234", "주문번호 O-20261120-00012 폰 뒷자리 1234", a whole mobile number (its last 4 digits), or only
    the digits ("1234": the order number may be in an earlier message)."""
    rest = text
    phone = _MOBILE.search(rest)
    last4 = phone.group(1) if phone else None
    if phone:
        rest = rest[:phone.start()] + " " + rest[phone.end():]
    ids = [m.group(0).upper() for m in ORDER_ID.finditer(rest)]
    order_id = ids[0] if ids else None
    if last4 is None:
        without_ids = ORDER_ID.sub(" ", rest)
        groups = _FOUR_DIGITS.findall(without_ids)
        last4 = groups[-1] if groups else None
        if order_id is None and last4 is not None and not ONLY_DIGITS.match(text.strip()):
            last4 = None  # "2024년에 산 거": a year, not phone digits
    return order_id, last4
