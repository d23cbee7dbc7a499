"""The Korean demo shop «사장님네 식탁»: a deterministic, coherent store of any size.

`seed_demo_store(engine, customers=300, seed=42)` writes ~40 products, the customers, ~10 orders per
customer over 18 months (seasonal: the weeks before 설날/추석, December, a growing shop), order items,
claims, reviews, product Q&A and daily settlements, in ONE transaction with bulk inserts (PostgreSQL
COPY, SQLite `executemany`), so 100,000 customers / ~1M orders fit in a few minutes on two cores.

Coherence rules (tests check every one):
- order amount = sum of its items + shipping fee (`delivery_fee` below `free_shipping_threshold`, else 0);
- order status follows its age and the dispatch cut-off (14:00 KST, no dispatch on Sundays): paid,
  preparing, shipping (tracking number), delivered; claims turn orders into cancelled/returned/exchanged;
- claims belong to an order of the same customer and one of its products;
- a review exists only for a delivered order of that customer containing that product, after delivery;
- settlements: per KST day before today, sales = amounts of that day's orders that were not cancelled
  or returned, commission = sales × rate (rounded to the won), amount = sales − commission;
- stock 0 ⇔ status `sold_out` with a `restock_on` date; customer totals are never stored.

Stories a demo needs are planted on top: customer `C-00001` 홍길동 with recent orders in every live
status (one shipping with a tracking number), an open claim and reviews; a spike of 1–2★ reviews about
leaking packaging on «순살 갈비탕» (P-001) in the last 7 days; low stock (days of cover < lead time) on
«고기 왕만두», «소불고기 밀키트», «무농약 들기름»; two sold-out products; open claims; unanswered Q&A;
customers of every RFM segment (each customer is drawn from an archetype with its own recency,
frequency and basket size).

Determinism: same `seed` and same `today` → identical rows. With `today=None` the reference time is
the real current time (statuses are relative to it); with an explicit date it is 15:00 KST that day.
"""

from __future__ import annotations

import bisect
import json
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from sqlalchemy import JSON, Connection, Engine, Float, Numeric, Table, delete, func, select
from sqlalchemy.schema import AddConstraint, DropConstraint

from . import names
from .dashboard import rebuild_sales_rollup
from .errors import DataError
from .models import (
    Attachment,
    Claim,
    Conversation,
    Coupon,
    CouponIssue,
    Customer,
    CustomerSegment,
    Message,
    Order,
    OrderItem,
    OutboxMessage,
    Product,
    ProductQna,
    Review,
    SegmentationRun,
    Settlement,
)

KST = timezone(timedelta(hours=9), "KST")  # Asia/Seoul: no daylight saving time
WINDOW_DAYS = 540  # ~18 months of history
CUTOFF_HOUR = 14  # same-day dispatch for orders paid before 14:00 KST
DISPATCH_HOUR = 17
Progress = Callable[[str], None]
TWO_HOURS = timedelta(hours=2)


# --- catalogue --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductSpec:
    id: str
    name: str
    category: str
    price: int
    cost: int
    lead_time_days: int
    storage: str  # frozen | chilled | room
    popularity: float
    description: str

    @property
    def kind(self) -> str:
        if self.category in ("주방용품", "생활용품"):
            return "goods"
        return "food"


def _p(num: int, name: str, category: str, price: int, cost_pct: int, lead: int, storage: str, pop: float,
       desc: str) -> ProductSpec:
    return ProductSpec(f"P-{num:03d}", name, category, price, price * cost_pct // 100, lead, storage, pop, desc)


PRODUCTS: list[ProductSpec] = [
    _p(1, "순살 갈비탕 (800g, 2인분)", "국·탕·찌개", 12900, 58, 3, "frozen", 9.0,
       "뼈를 발라낸 소갈비를 12시간 우린 육수에 담은 갈비탕. 냉동 파우치 포장, 끓는 물에 15분 중탕."),
    _p(2, "한우 사골곰탕 (500g×3팩)", "국·탕·찌개", 15900, 60, 4, "frozen", 5.0,
       "국내산 한우 사골을 48시간 고아 낸 진한 곰탕. 1팩 1~2인분."),
    _p(3, "우렁 된장찌개 밀키트 (2인분)", "밀키트", 9800, 55, 2, "chilled", 6.0,
       "집된장과 손질 우렁, 애호박·두부가 함께 든 찌개 밀키트. 조리 10분."),
    _p(4, "부대찌개 밀키트 (3인분)", "밀키트", 13900, 57, 2, "chilled", 7.0,
       "햄·소시지·베이크드빈과 사골육수 베이스. 라면사리 1개 포함."),
    _p(5, "소불고기 밀키트 (600g)", "밀키트", 16900, 62, 3, "chilled", 7.5,
       "국내산 배·양파로 재운 호주산 소고기 불고기. 팬에 7분."),
    _p(6, "춘천식 닭갈비 밀키트 (2~3인분)", "밀키트", 14900, 58, 3, "chilled", 5.5,
       "국내산 닭다리살과 고추장 양념, 떡·양배추 포함."),
    _p(7, "손질 오징어볶음 (500g)", "밀키트", 11900, 60, 4, "frozen", 4.0,
       "손질을 마친 원양산 오징어와 매콤한 양념. 해동 없이 바로 조리."),
    _p(8, "들깨 버섯전골 밀키트 (2인분)", "밀키트", 15900, 56, 3, "chilled", 3.0,
       "표고·느타리·새송이와 들깨 육수. 채식 가능(육수 채수)."),
    _p(9, "고기 왕만두 (1.4kg)", "냉동식품", 10900, 55, 3, "frozen", 8.5,
       "돼지고기와 부추를 넉넉히 넣은 손바닥만 한 왕만두. 찜기 12분."),
    _p(10, "김치 손만두 (1kg)", "냉동식품", 9900, 54, 3, "frozen", 5.0,
       "묵은지와 두부로 속을 채운 손만두. 군만두·만둣국 모두 좋아요."),
    _p(11, "매콤 떡볶이 (2인분)", "간식·디저트", 5900, 50, 2, "chilled", 5.0,
       "쌀떡과 고추장 소스, 어묵 포함. 냉장 보관 7일."),
    _p(12, "찹쌀 꽈배기 (10개입)", "간식·디저트", 7900, 48, 4, "frozen", 3.0,
       "에어프라이어 170도 6분이면 갓 튀긴 맛."),
    _p(13, "국산콩 두부 (2모)", "반찬", 4500, 55, 1, "chilled", 4.0, "국산 백태 100%. 개봉 후 2일 이내 드세요."),
    _p(14, "포기김치 (3kg)", "반찬", 24900, 60, 3, "chilled", 6.0,
       "국내산 배추와 고춧가루로 담근 포기김치. 받으신 날 냉장 보관."),
    _p(15, "총각김치 (1kg)", "반찬", 12900, 58, 3, "chilled", 3.0, "아삭한 알타리무 총각김치."),
    _p(16, "멸치볶음 (200g)", "반찬", 6900, 52, 2, "chilled", 3.5, "남해안 잔멸치를 견과와 함께 볶았어요."),
    _p(17, "장조림 (300g)", "반찬", 8900, 55, 2, "chilled", 3.5, "국내산 돼지 안심과 메추리알 장조림."),
    _p(18, "도라지무침 (250g)", "반찬", 7900, 55, 2, "chilled", 1.5, "국내산 도라지를 새콤달콤하게 무쳤어요."),
    _p(19, "양념게장 (500g)", "반찬", 19900, 62, 5, "frozen", 2.5, "국내산 꽃게 양념게장. 냉동 보관."),
    _p(20, "간장게장 (1kg)", "반찬", 34900, 63, 5, "frozen", 3.0, "서해안 암꽃게 간장게장. 해동 후 2일 이내."),
    _p(21, "LA갈비 (1kg)", "정육", 39900, 66, 4, "frozen", 3.5, "미국산 초이스 등급, 과일 양념."),
    _p(22, "한돈 삼겹살 (500g)", "정육", 15900, 64, 2, "chilled", 4.5, "국내산 한돈 삼겹살 1cm 두께."),
    _p(23, "훈제오리 슬라이스 (400g)", "정육", 9900, 58, 3, "chilled", 3.0, "국내산 오리, 참나무 훈연."),
    _p(24, "국산 참기름 (300ml)", "양념·오일", 14900, 60, 5, "room", 3.5, "국산 참깨 100% 저온 압착."),
    _p(25, "무농약 들기름 (300ml)", "양념·오일", 15900, 60, 7, "room", 4.5, "무농약 국산 들깨 생들기름. 개봉 후 냉장."),
    _p(26, "전통 고추장 (1kg)", "양념·오일", 11900, 55, 5, "room", 2.5, "찹쌀과 태양초로 담근 고추장."),
    _p(27, "집된장 (1kg)", "양념·오일", 10900, 55, 5, "room", 2.5, "국산콩 재래식 된장, 1년 숙성."),
    _p(28, "멸치 다시팩 (15g×20)", "양념·오일", 8900, 50, 4, "room", 3.5, "멸치·다시마·표고가 든 육수팩."),
    _p(29, "혼합 잡곡 (2kg)", "쌀·잡곡", 13900, 62, 5, "room", 2.5, "국산 찰현미·귀리·서리태 등 12곡."),
    _p(30, "신동진 쌀 (10kg)", "쌀·잡곡", 36900, 72, 5, "room", 3.0, "전북 김제 신동진, 당해 햅쌀."),
    _p(31, "개성 약과 선물세트 (20입)", "선물세트", 22900, 55, 7, "room", 1.5, "찹쌀 약과 20입, 보자기 포장."),
    _p(32, "명절 한우 선물세트 (1.2kg)", "선물세트", 129000, 70, 10, "frozen", 0.8,
       "1++ 한우 등심·불고기·국거리 구성, 보냉 가방 포장."),
    _p(33, "무쇠 전골냄비 (24cm)", "주방용품", 39000, 50, 10, "room", 1.2, "인덕션·가스 겸용, 시즈닝 완료."),
    _p(34, "스테인리스 찜기 (28cm)", "주방용품", 29000, 48, 10, "room", 1.2, "만두·떡·옥수수 찌기에 좋은 2단 찜기."),
    _p(35, "원목 도마 (대)", "주방용품", 24000, 45, 8, "room", 1.2, "통원목 캄포나무 도마 40×28cm."),
    _p(36, "실리콘 조리도구 5종 세트", "주방용품", 19800, 42, 8, "room", 1.5, "내열 230도, 식기세척기 사용 가능."),
    _p(37, "밀폐 유리용기 (4종)", "주방용품", 26900, 48, 8, "room", 1.5, "전자레인지·오븐 사용 가능 내열유리."),
    _p(38, "천연 수세미 (5입)", "생활용품", 6900, 40, 6, "room", 2.0, "국산 수세미 열매를 말려 만든 천연 수세미."),
    _p(39, "친환경 주방세제 (1L)", "생활용품", 8900, 45, 6, "room", 2.5, "1종 세척제, 과일·채소 세척 가능."),
    _p(40, "보냉 장바구니 (20L)", "생활용품", 12900, 44, 7, "room", 1.5, "알루미늄 보냉 안감, 접이식."),
]
PRODUCT_BY_ID = {p.id: p for p in PRODUCTS}
SPIKE_PRODUCT = "P-001"
LOW_STOCK_PRODUCTS = ("P-009", "P-005", "P-025")
SOLD_OUT_PRODUCTS = {"P-020": 3, "P-032": 9}  # product → restock in N days
SOLD_OUT_SINCE_DAYS = 4  # sold out for the last 4 days: no orders of them since

# RFM archetypes: share, orders (lo, hi), recency days (lo, hi), history span days (lo, hi), basket size.
ARCHETYPES: dict[str, tuple[float, tuple[int, int], tuple[int, int], tuple[int, int], float]] = {
    "champions": (0.06, (30, 50), (0, 12), (300, 520), 1.3),
    "loyal": (0.10, (16, 28), (3, 40), (250, 500), 1.1),
    "potential_loyalist": (0.10, (4, 8), (2, 30), (45, 140), 1.0),
    "new": (0.08, (1, 1), (0, 14), (0, 0), 1.0),
    "promising": (0.06, (1, 2), (10, 40), (0, 30), 0.9),
    "needs_attention": (0.08, (4, 8), (45, 90), (120, 300), 1.0),
    "about_to_sleep": (0.08, (2, 4), (60, 110), (30, 150), 0.9),
    "at_risk": (0.12, (9, 18), (100, 200), (150, 330), 1.1),
    "cant_lose": (0.04, (22, 36), (150, 280), (200, 250), 1.4),
    "hibernating": (0.14, (2, 4), (150, 300), (30, 200), 0.9),
    "lost": (0.14, (1, 2), (300, 530), (0, 9), 0.8),
}
ACTIVE_ARCHETYPES = ("champions", "loyal", "potential_loyalist")

HOUR_WEIGHTS = [0.6, 0.3, 0.2, 0.1, 0.1, 0.2, 0.5, 1.0, 1.6, 2.2, 2.6, 2.7,
                2.4, 2.2, 2.0, 1.9, 1.8, 1.8, 2.0, 2.4, 2.9, 3.2, 2.8, 1.6]
WEEKDAY_WEIGHTS = [1.15, 1.1, 1.05, 1.0, 0.9, 0.8, 1.0]  # Monday first: people restock the fridge early
MONTH_WEIGHTS = [1.15, 1.1, 1.0, 0.95, 1.0, 0.95, 0.85, 0.85, 1.15, 1.05, 1.1, 1.25]
# 설날 and 추석 (lunar holidays): two busy weeks before, couriers rest on the day itself.
HOLIDAYS = [date(2024, 2, 10), date(2024, 9, 17), date(2025, 1, 29), date(2025, 10, 6), date(2026, 2, 17),
            date(2026, 9, 25), date(2027, 2, 7), date(2027, 9, 15), date(2028, 1, 27), date(2028, 10, 3)]
COURIERS = ["CJ대한통운"] * 17 + ["한진택배", "한진택배", "우체국택배"]
CHANNELS = ["smartstore"] * 11 + ["coupang"] * 4 + ["cafe24"] * 5

CANCEL_REASONS = ["단순 변심으로 취소합니다", "옵션을 잘못 선택했어요", "같은 상품을 두 번 주문했어요",
                  "다른 상품과 함께 다시 주문할게요", "결제 수단을 바꾸려고 취소해요", "받는 날짜가 맞지 않아서요"]
RETURN_REASONS = ["단순 변심 (미개봉)", "생각보다 양이 적어서 반품합니다", "상품 설명과 구성이 달라요",
                  "가족이 같은 상품을 이미 샀어요", "주문을 잘못했어요 (미개봉 상태)"]
EXCHANGE_REASONS = {
    "food": ["다른 맛으로 잘못 왔어요 (순한맛 주문, 매운맛 도착)", "주문하지 않은 상품이 왔어요",
             "용량이 다른 상품이 왔어요"],
    "goods": ["사이즈가 맞지 않아요 (대 → 중으로 교환 원해요)", "색상이 주문과 달라요", "구성품이 하나 빠져 있어요"],
}
DEFECT_REASONS = {
    "food": ["포장이 터져서 국물이 새어 나왔어요", "아이스팩이 다 녹은 상태로 도착했어요",
             "유통기한이 너무 임박한 상품이 왔어요", "주문 수량보다 하나 적게 왔어요", "상자가 찌그러지고 내용물이 눌렸어요"],
    "goods": ["유리용기 뚜껑이 깨져서 왔어요", "냄비 코팅에 흠집이 있어요", "도마에 금이 가 있어요",
              "제품에 녹이 슬어 있어요"],
}

REVIEW_GOOD = {
    "food": ["{short} 정말 맛있어요! 가족들이 다 좋아해서 또 주문하려고요.", "조리도 간단하고 양도 넉넉해요. 재구매 의사 있습니다.",
             "아이스팩 꽁꽁 얼어서 왔고 포장 꼼꼼했어요. 맛은 말할 것도 없고요.", "{short} 세 번째 주문이에요. 늘 한결같은 맛이라 믿고 삽니다.",
             "퇴근하고 10분 만에 저녁 해결했어요. 간도 딱 맞아요.", "부모님 댁에 보내 드렸는데 맛있다고 전화 왔어요 ㅎㅎ",
             "배송 빠르고 신선해요. 다음엔 두 개 시킬게요.", "사진보다 실물이 더 푸짐해요. 만족합니다!"],
    "goods": ["{short} 튼튼하고 마감이 깔끔해요. 오래 쓸 것 같아요.", "생각보다 크기도 적당하고 디자인이 예뻐요.",
              "배송 빠르고 포장도 안전하게 와서 좋았어요.", "선물했는데 받는 분이 아주 좋아하셨어요.",
              "가격 대비 품질 훌륭합니다. 추천해요."],
}
REVIEW_OK = {
    "food": ["맛은 괜찮은데 양이 조금 아쉬워요.", "무난해요. 간이 살짝 센 편이라 물을 더 넣었어요.",
             "배송이 하루 늦었지만 상품은 괜찮았어요.", "{short} 보통이에요. 가격이 조금만 더 착하면 좋겠어요."],
    "goods": ["쓸 만해요. 다만 생각보다 조금 무거워요.", "무난합니다. 포장 박스가 좀 찌그러져 왔어요.",
              "설명이랑 색감이 살짝 달라요. 쓰는 데 지장은 없어요."],
}
REVIEW_BAD = {
    "food": ["아이스팩이 다 녹아서 왔어요. 여름엔 포장 신경 좀 써 주세요.", "배송이 너무 늦어요. 주문하고 5일 만에 왔네요.",
             "{short} 너무 짜요. 제 입맛엔 안 맞네요.", "양이 사진보다 훨씬 적어요. 실망입니다.",
             "유통기한이 며칠 안 남은 걸 보냈네요. 기분이 좀 그래요."],
    "goods": ["한 번 쓰고 손잡이가 흔들려요. 실망이에요.", "상자가 다 찢어져서 왔어요. 포장 개선 부탁드려요.",
              "사진이랑 색이 너무 달라요.", "냄새가 심해서 며칠째 환기 중이에요."],
}
REVIEW_LEAK = ["포장이 터져서 국물이 상자에 다 샜어요. 상자가 흥건해요 ㅠㅠ", "파우치가 찢어져서 갈비탕 국물이 새어 나왔어요. 먹지도 못했어요.",
               "이번 주문은 포장이 불량이에요. 비닐이 터져서 냉동실에 넣기 전에 다 녹았어요.",
               "갈비탕 봉지 두 개 중 하나가 터져서 왔어요. 예전엔 안 그랬는데 포장이 바뀐 건가요?",
               "국물이 새서 다른 상품까지 다 젖었어요. 교환이나 환불 부탁드립니다.",
               "포장 실링이 제대로 안 돼서 샜어요. 맛은 좋은데 너무 속상하네요."]
REPLY_THANKS = ["{name}님, 소중한 후기 감사합니다! 앞으로도 정성껏 준비하겠습니다. 😊",
                "맛있게 드셨다니 정말 기쁩니다. 다음 주문도 꼼꼼히 챙겨 보내 드릴게요. 감사합니다!"]
REPLY_SORRY = ["{name}님, 불편을 드려 정말 죄송합니다. 고객센터로 연락 주시면 교환·환불 바로 도와드리겠습니다.",
               "말씀 주신 부분 확인해서 포장과 배송을 개선하겠습니다. 불편을 드려 죄송합니다."]

QNA = {
    "food": [("유통기한이 어떻게 되나요?", "냉동 제품은 제조일로부터 12개월, 냉장 제품은 상품 상세에 적힌 날짜까지입니다. 받으신 날 바로 보관해 주세요."),
             ("알레르기 유발 성분이 들어 있나요?", "대두·밀·쇠고기가 포함되어 있고, 같은 시설에서 새우·게를 가공합니다. 상세 페이지 표시사항을 꼭 확인해 주세요."),
             ("원산지가 어디인가요?", "주원료 원산지는 상품 상세의 원산지 표시에 적혀 있습니다. 문의하신 제품의 주원료는 국내산입니다."),
             ("아이 반찬으로 먹여도 될 만큼 안 매운가요?", "맵기는 5단계 중 1단계로 순한 편입니다. 다만 어린아이에게는 물을 조금 더 넣어 조리하시길 권해 드려요."),
             ("해동 후 다시 얼려도 되나요?", "한 번 해동한 제품은 재냉동하지 마시고 바로 조리해 주세요. 맛과 위생을 위해서입니다."),
             ("전자레인지로 조리해도 되나요?", "파우치째로는 안 되고 전자레인지용 그릇에 옮겨 5~6분 데워 주세요. 냄비 조리를 더 추천드립니다."),
             ("오늘 주문하면 언제 받을 수 있나요?", "오후 2시 전 결제 주문은 당일 출고되어 보통 다음 날 받으십니다. 제주·도서산간은 1~2일 더 걸립니다."),
             ("2개 이상 사면 박스 하나로 오나요?", "네, 냉동·냉장 상품은 한 상자에 아이스팩과 함께 합포장해서 보내 드립니다.")],
    "goods": [("인덕션에서도 사용할 수 있나요?", "네, 인덕션·가스레인지·하이라이트 모두 사용 가능합니다."),
              ("식기세척기에 넣어도 되나요?", "내열 소재라 식기세척기 사용은 가능하지만, 오래 쓰시려면 손세척을 권해 드려요."),
              ("크기가 정확히 어떻게 되나요?", "상세 페이지의 실측 사이즈(가로×세로×높이)를 참고해 주세요. 손잡이 포함 치수입니다."),
              ("선물 포장 되나요?", "주문 시 배송 메모에 '선물 포장'이라고 적어 주시면 무료로 포장해 드립니다."),
              ("처음 쓰기 전에 세척을 어떻게 하나요?", "미온수에 중성세제로 한 번 씻고 완전히 말린 뒤 사용해 주세요.")],
}


# --- helpers ------------------------------------------------------------------------------------------


def _short_name(name: str) -> str:
    return name.split(" (")[0]


def _day_weights(start: date, days: int) -> list[float]:
    weights = []
    for i in range(days):
        d = start + timedelta(days=i)
        w = WEEKDAY_WEIGHTS[d.weekday()] * MONTH_WEIGHTS[d.month - 1] * (0.75 + 0.5 * i / days)
        for h in HOLIDAYS:
            delta = (h - d).days
            if 1 <= delta <= 14:
                w *= 1.8
            elif -1 <= delta <= 0:
                w *= 0.5
        weights.append(w)
    return weights


def _cumulative(weights: Sequence[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


KST_OFFSET = timedelta(hours=9)
ONE_DAY = timedelta(days=1)
_dispatch_cache: dict[date, datetime] = {}


def _dispatch_time(ordered: datetime) -> datetime:
    """Paid before 14:00 KST → dispatched that day at 17:00, else the next day; never on a Sunday."""
    local = ordered + KST_OFFSET  # still tagged UTC, but its wall clock is Seoul's (no DST there)
    day = local.date() if local.hour < CUTOFF_HOUR else local.date() + ONE_DAY
    out = _dispatch_cache.get(day)
    if out is None:
        d = day + ONE_DAY if day.weekday() == 6 else day
        out = _dispatch_cache[day] = datetime.combine(d, time(DISPATCH_HOUR), KST).astimezone(UTC)
    return out


@dataclass
class _OrderPlan:
    ts: datetime
    cust: int  # customer index, 1-based
    items: list[tuple[str, int]] | None = None  # planted lines (product id, quantity)
    force_status: str | None = None  # "shipping" keeps a planted parcel in transit
    claim: tuple[str, str, str] | None = None  # planted (type, status, reason)
    review: tuple[int, str] | None = None  # planted (rating, text)
    review_after_h: float = 20.0
    no_random_extras: bool = False


@dataclass
class _Tables:
    customers: list[tuple[Any, ...]] = field(default_factory=list)
    products: list[tuple[Any, ...]] = field(default_factory=list)
    orders: list[tuple[Any, ...]] = field(default_factory=list)
    items: list[tuple[Any, ...]] = field(default_factory=list)
    claims: list[tuple[Any, ...]] = field(default_factory=list)
    reviews: list[tuple[Any, ...]] = field(default_factory=list)
    qna: list[tuple[Any, ...]] = field(default_factory=list)
    settlements: list[tuple[Any, ...]] = field(default_factory=list)


ORDER_COLS = ("id", "customer_id", "ordered_at", "amount", "shipping_fee", "status", "courier", "tracking_no",
              "shipped_at", "delivered_at", "recipient_name", "address", "channel")
ITEM_COLS = ("order_id", "product_id", "product_name", "quantity", "unit_price", "amount")
CLAIM_COLS = ("id", "order_id", "customer_id", "product_id", "type", "status", "reason", "created_at", "resolved_at")
REVIEW_COLS = ("id", "product_id", "customer_id", "order_id", "rating", "text", "images", "created_at", "reply",
               "reply_status", "published_at")
QNA_COLS = ("id", "product_id", "customer_id", "text", "asked_at", "answer", "answered_at", "answered")
CUSTOMER_COLS = ("id", "name", "phone", "email", "joined_at", "created_at")
PRODUCT_COLS = ("id", "name", "category", "price", "cost", "stock", "safety_stock", "lead_time_days", "status",
                "restock_on", "description", "created_at")
SETTLEMENT_COLS = ("settled_on", "sales", "commission", "amount")


class _Generator:
    def __init__(self, customers: int, seed: int, now: datetime, delivery_fee: int, free_threshold: int,
                 commission_rate: Decimal) -> None:
        self.n = customers
        self.seed = seed
        self.rng = random.Random(seed)
        self.name_rng = random.Random(seed + 7_919)
        self.now = now
        self.today = now.astimezone(KST).date()
        self.start = self.today - timedelta(days=WINDOW_DAYS - 1)
        self.fee = delivery_fee
        self.free = free_threshold
        self.rate = commission_rate
        self.cum_days = _cumulative(_day_weights(self.start, WINDOW_DAYS))
        # UTC instant of 00:00 KST of each day of the window
        self.day_base = [datetime.combine(self.start + timedelta(days=i), time(0), KST).astimezone(UTC)
                         for i in range(WINDOW_DAYS)]
        self.day_label: dict[date, str] = {}
        self.cum_hours = _cumulative(HOUR_WEIGHTS)
        self.cum_products = _cumulative([p.popularity for p in PRODUCTS])
        self.t = _Tables()
        self.cust_names: list[str] = [""]
        self.cust_addr: list[str] = [""]
        self.cust_basket: list[float] = [1.0]
        self.cust_arch: list[str] = [""]
        self.cust_joined: list[datetime] = [now]
        self.day_seq: Counter[date] = Counter()
        self.sold_out_from = self.today - timedelta(days=SOLD_OUT_SINCE_DAYS)
        self.claim_seq = 0
        self.review_seq = 0
        self.delivered: list[tuple[str, int, datetime, list[str]]] = []  # for Q&A: order id, customer, time, products
        self.sales_by_day: defaultdict[date, int] = defaultdict(int)
        self.units_30d: Counter[str] = Counter()
        self.recent_from = self.today - timedelta(days=30)

    # -- time ------------------------------------------------------------------------------------
    def _day_between(self, lo: int, hi: int) -> int:
        """A day index in [lo, hi] drawn with the shop's seasonal weights."""
        if hi <= lo:
            return lo
        a = self.cum_days[lo - 1] if lo > 0 else 0.0
        u = self.rng.uniform(a, self.cum_days[hi])
        return min(hi, max(lo, bisect.bisect_left(self.cum_days, u)))

    def _ts(self, day_index: int) -> datetime:
        rand = self.rng.random
        hour = min(23, bisect.bisect_left(self.cum_hours, rand() * self.cum_hours[-1]))
        ts = self.day_base[day_index] + timedelta(seconds=hour * 3600 + int(rand() * 3600))
        if ts > self.now:  # today's orders happen before "now"
            ts = self.now - timedelta(seconds=120 + int(rand() * 5 * 3600))
        return ts

    def _local(self, days_ago: float, hour: int, minute: int = 0) -> datetime:
        d = self.today - timedelta(days=int(days_ago))
        return datetime.combine(d, time(hour, minute), KST).astimezone(UTC)

    # -- customers -------------------------------------------------------------------------------
    def customers(self) -> list[_OrderPlan]:
        rng = self.rng
        arch_names = list(ARCHETYPES)
        cum_arch = _cumulative([ARCHETYPES[a][0] for a in arch_names])
        plans: list[_OrderPlan] = []
        last_day = WINDOW_DAYS - 1
        for i in range(1, self.n + 1):
            if i == 1:
                arch = "loyal"
            elif i <= len(arch_names) + 1:
                arch = arch_names[i - 2]  # every segment exists even in a 30-customer shop
            else:
                arch = arch_names[bisect.bisect_left(cum_arch, rng.uniform(0, cum_arch[-1]))]
            _share, (olo, ohi), (rlo, rhi), (slo, shi), basket = ARCHETYPES[arch]
            n_orders = rng.randint(olo, ohi)
            last = last_day - rng.randint(rlo, rhi)
            first = max(0, last - rng.randint(slo, shi))
            if i == 1:
                first, last, n_orders = 60, last_day - 25, 14
            days = [first] if n_orders >= 1 else []
            if n_orders >= 2:
                days.append(last)
                days += [self._day_between(first, last) for _ in range(n_orders - 2)]
            stamps = sorted(self._ts(d) for d in days)
            joined = stamps[0] - timedelta(minutes=rng.randint(5, 60 * 24 * 3))
            self.cust_names.append(names.person_name(i, self.seed, self.name_rng))
            self.cust_addr.append(names.address(i, self.seed, self.name_rng))
            self.cust_basket.append(basket * rng.uniform(0.8, 1.25))
            self.cust_arch.append(arch)
            self.cust_joined.append(joined)
            self.t.customers.append((f"C-{i:05d}", self.cust_names[i], names.phone(i), names.email(i), joined, joined))
            plans.extend(_OrderPlan(ts, i) for ts in stamps)
        return plans

    # -- planted stories -------------------------------------------------------------------------
    def stories(self) -> list[_OrderPlan]:
        rng = self.rng
        plans = [
            # 홍길동: one order in every live status, an open claim, reviews
            _OrderPlan(min(self.now - timedelta(minutes=40), self._local(0, 13, 20)), 1,
                       [("P-004", 1), ("P-011", 2)], no_random_extras=True),
            _OrderPlan(min(self.now - timedelta(hours=3), self._local(0, 8, 40)), 1,
                       [("P-009", 2), ("P-016", 1)], no_random_extras=True),
            _OrderPlan(self._local(2, 11, 5), 1, [("P-005", 2), ("P-022", 1), ("P-028", 1)],
                       force_status="shipping", no_random_extras=True),
            _OrderPlan(self._local(6, 10, 30), 1, [("P-010", 1), ("P-014", 1)],
                       claim=("exchange", "requested", "김치 손만두를 주문했는데 고기 왕만두가 왔어요. 교환 부탁드려요."),
                       no_random_extras=True),
            _OrderPlan(self._local(12, 9, 15), 1, [("P-021", 1)],
                       claim=("cancel", "completed", "가족 모임 날짜가 바뀌어서 취소합니다"), no_random_extras=True),
            _OrderPlan(self._local(19, 12, 0), 1, [("P-002", 1), ("P-024", 1)],
                       review=(5, "사골곰탕 국물이 진하고 참기름도 고소해요. 부모님도 좋아하셨어요!"), no_random_extras=True),
            _OrderPlan(self._local(33, 20, 10), 1, [("P-003", 2)],
                       review=(4, "된장찌개 맛있어요. 우렁이 조금 더 많으면 좋겠어요."), no_random_extras=True),
        ]
        # the review spike: six different recent customers got a leaking «순살 갈비탕»
        active = [i for i in range(2, self.n + 1) if self.cust_arch[i] in ACTIVE_ARCHETYPES] or list(range(1, self.n + 1))
        spike_customers = rng.sample(active, min(6, len(active)))
        while len(spike_customers) < 6:
            spike_customers.append(rng.choice(active))
        for k, cust in enumerate(spike_customers):
            lines = [(SPIKE_PRODUCT, 2)]
            if k % 2 == 0:
                lines.append(("P-025", 1))
            ordered = self._local(5 + k % 4, 9 + k, 10 * k)
            claim = ("refund", "requested", "갈비탕 파우치가 터져서 국물이 다 샜어요. 환불 부탁드립니다.") if k in (1, 4) else None
            plans.append(_OrderPlan(ordered, cust, lines, review=(1 + (k % 3 == 0), REVIEW_LEAK[k % len(REVIEW_LEAK)]),
                                    claim=claim, review_after_h=30 + 6 * k, no_random_extras=True))
        return plans

    def restock_pressure(self) -> list[_OrderPlan]:
        """Low-stock products need real recent demand: top it up in a small shop (30-day units ≥ 4 × lead time + 2)."""
        rng = self.rng
        active = [i for i in range(1, self.n + 1) if self.cust_arch[i] in ACTIVE_ARCHETYPES] or [1]
        plans = []
        for pid in LOW_STOCK_PRODUCTS:
            need = 4 * PRODUCT_BY_ID[pid].lead_time_days + 2 - self.units_30d[pid]
            while need > 0:
                ordered = self._local(rng.randint(1, 25), rng.randint(9, 22), rng.randrange(60))
                plans.append(_OrderPlan(ordered, rng.choice(active), [(pid, 2)]))
                need -= 2
        return plans

    # -- orders ----------------------------------------------------------------------------------
    def _lines(self, plan: _OrderPlan, day: date) -> list[tuple[ProductSpec, int]]:
        if plan.items is not None:
            return [(PRODUCT_BY_ID[pid], q) for pid, q in plan.items]
        rand = self.rng.random
        r = rand() / self.cust_basket[plan.cust]
        n_lines = 1 if r < 0.45 else 2 if r < 0.78 else 3 if r < 0.93 else 4
        chosen: dict[str, int] = {}
        total = self.cum_products[-1]
        late = day >= self.sold_out_from
        for _ in range(n_lines):
            p = PRODUCTS[bisect.bisect_left(self.cum_products, rand() * total)]
            if late and p.id in SOLD_OUT_PRODUCTS:
                p = PRODUCTS[(int(p.id[2:]) + 2) % len(PRODUCTS)]  # the shopper took something else
            q = rand()
            chosen[p.id] = chosen.get(p.id, 0) + (1 if q < 0.78 else 2 if q < 0.95 else 3)
        return [(PRODUCT_BY_ID[pid], q) for pid, q in chosen.items()]

    def order(self, plan: _OrderPlan) -> None:
        rng = self.rng
        rand = rng.random
        cust_id = f"C-{plan.cust:05d}"
        local_day = (plan.ts + KST_OFFSET).date()
        self.day_seq[local_day] += 1
        label = self.day_label.get(local_day)
        if label is None:
            label = self.day_label[local_day] = f"O-{local_day:%Y%m%d}-"
        oid = f"{label}{self.day_seq[local_day]:05d}"
        lines = self._lines(plan, local_day)
        subtotal = 0
        for p, q in lines:
            self.t.items.append((oid, p.id, p.name, q, p.price, p.price * q))
            subtotal += p.price * q
        fee = 0 if subtotal >= self.free else self.fee
        amount = subtotal + fee

        # timeline by age
        dispatch = _dispatch_time(plan.ts)
        delivered_at: datetime | None = dispatch + timedelta(
            seconds=(86400 if rand() < 0.82 else 172800) + int((rand() * 8 - 5) * 3600))
        shipped_at: datetime | None = dispatch
        if plan.force_status == "shipping":
            delivered_at = None
            shipped_at = min(dispatch, self.now - timedelta(hours=20))
        if delivered_at is not None and delivered_at > self.now:
            delivered_at = None
        if shipped_at is not None and shipped_at > self.now:
            shipped_at = None
        if delivered_at is not None:
            status = "delivered"
        elif shipped_at is not None:
            status = "shipping"
        else:
            status = "paid" if self.now - plan.ts < TWO_HOURS else "preparing"

        # claims: planted, or ~4% at random
        claim = plan.claim
        if claim is None and not plan.no_random_extras and rand() < 0.04:
            claim = self._random_claim(status, lines)
        claim_product = lines[0][0]  # reasons were drawn for this product's kind
        if claim is not None:
            ctype, cstatus, reason = claim
            resolved: datetime | None = None
            if ctype == "cancel":
                created = plan.ts + timedelta(minutes=rng.randint(10, 240))
                if shipped_at is not None and created >= shipped_at:
                    created = plan.ts + timedelta(minutes=5)
                created = min(created, self.now - timedelta(minutes=1))
                if cstatus == "completed":
                    status, shipped_at, delivered_at = "cancelled", None, None
                    resolved = created + timedelta(minutes=rng.randint(5, 90))
            else:
                assert delivered_at is not None
                created = min(self.now - timedelta(minutes=30),
                              delivered_at + timedelta(hours=rng.uniform(2, 24 * (2 if ctype == "refund" else 5))))
                if cstatus == "auto":  # this week's claims are still open, older ones are settled
                    if self.now - created < timedelta(days=4):
                        cstatus = rng.choice(["requested", "requested", "in_progress"])
                    else:
                        cstatus = "completed" if rng.random() < 0.88 else "rejected"
                if cstatus in ("completed", "rejected"):
                    resolved = min(self.now, created + timedelta(days=rng.uniform(1, 4)))
                    if cstatus == "completed":
                        status = {"return": "returned", "exchange": "exchanged"}.get(ctype, status)
            self.claim_seq += 1
            self.t.claims.append((f"CL-{self.claim_seq:07d}", oid, cust_id, claim_product.id, ctype, cstatus, reason,
                                  created, resolved))

        courier = tracking = None
        if shipped_at is not None:
            courier = COURIERS[int(rand() * len(COURIERS))]
            tracking = str(10**11 + int(rand() * 9 * 10**11))
        self.t.orders.append((oid, cust_id, plan.ts, amount, fee, status, courier, tracking, shipped_at, delivered_at,
                              self.cust_names[plan.cust], self.cust_addr[plan.cust],
                              CHANNELS[int(rand() * len(CHANNELS))]))
        if status not in ("cancelled", "returned") and local_day < self.today:
            self.sales_by_day[local_day] += amount
        if local_day > self.recent_from and status != "cancelled":
            for p, q in lines:
                self.units_30d[p.id] += q

        if status == "delivered" and delivered_at is not None:
            self.delivered.append((oid, plan.cust, delivered_at, [p.id for p, _ in lines]))
            self._maybe_review(plan, oid, cust_id, delivered_at, lines)

    def _random_claim(self, status: str, lines: list[tuple[ProductSpec, int]]) -> tuple[str, str, str] | None:
        rng = self.rng
        kind = lines[0][0].kind
        if status in ("paid", "preparing"):
            return ("cancel", rng.choice(["requested", "in_progress"]), rng.choice(CANCEL_REASONS))
        if status == "shipping":
            return None
        r = rng.random()
        if r < 0.35:  # cancelled before dispatch, long done
            return ("cancel", "completed", rng.choice(CANCEL_REASONS))
        ctype = "return" if r < 0.65 else "exchange" if r < 0.82 else "refund"
        reason = (rng.choice(RETURN_REASONS) if ctype == "return" else rng.choice(EXCHANGE_REASONS[kind])
                  if ctype == "exchange" else rng.choice(DEFECT_REASONS[kind]))
        return (ctype, "auto", reason)  # status decided once the claim's date is known

    def _maybe_review(self, plan: _OrderPlan, oid: str, cust_id: str, delivered_at: datetime,
                      lines: list[tuple[ProductSpec, int]]) -> None:
        rng = self.rng
        if plan.review is not None:
            rating, text = plan.review
            product = lines[0][0]
            created = min(self.now - timedelta(minutes=20), delivered_at + timedelta(hours=plan.review_after_h))
        else:
            if plan.no_random_extras or rng.random() >= 0.3:
                return
            product = lines[int(rng.random() * len(lines))][0]
            created = delivered_at + timedelta(seconds=int(3600 * (3 + rng.random() * 237)))
            if created > self.now:
                return
            r = rng.random()
            rating = 5 if r < 0.55 else 4 if r < 0.83 else 3 if r < 0.93 else 2 if r < 0.97 else 1
            recent = self.now - created < timedelta(days=7)
            if product.id == SPIKE_PRODUCT and recent:
                # this week's batch of pouches leaks: half of the reviews say so
                if rng.random() < 0.5:
                    rating = rng.choice([1, 2])
                    text = rng.choice(REVIEW_LEAK)
                elif rating <= 2:
                    rating = 4
            elif recent and rating <= 2 and rng.random() < 0.5:
                rating = 3  # keep other products' weeks calm so the spike stands out
            pool = REVIEW_GOOD if rating >= 4 else REVIEW_OK if rating == 3 else REVIEW_BAD
            if not (product.id == SPIKE_PRODUCT and recent and rating <= 2):
                text = rng.choice(pool[product.kind]).format(short=_short_name(product.name))
        self.review_seq += 1
        reply = published = None
        reply_status = "none"
        if self.now - created > timedelta(days=14) and rng.random() < 0.6:
            pool_reply = REPLY_THANKS if rating >= 4 else REPLY_SORRY
            reply = rng.choice(pool_reply).format(name=self.cust_names[plan.cust])
            reply_status = "published"
            published = created + timedelta(hours=rng.uniform(2, 40))
        self.t.reviews.append((f"R-{self.review_seq:07d}", product.id, cust_id, oid, rating, text, [], created, reply,
                               reply_status, published))

    # -- catalogue, Q&A, settlements ----------------------------------------------------------------
    def products(self) -> None:
        rng = self.rng
        created = datetime.combine(self.start - timedelta(days=30), time(9), KST).astimezone(UTC)
        for p in PRODUCTS:
            daily = self.units_30d[p.id] / 30
            lead = p.lead_time_days
            safety = max(5, math.ceil(daily * lead * 1.5))
            restock_on = None
            if p.id in SOLD_OUT_PRODUCTS:
                stock, status = 0, "sold_out"
                restock_on = self.today + timedelta(days=SOLD_OUT_PRODUCTS[p.id])
            elif p.id in LOW_STOCK_PRODUCTS:
                stock, status = max(1, math.floor(daily * lead * 0.5)), "on_sale"  # cover ≈ half the lead time
            else:
                stock = max(safety + 5, math.ceil(daily * rng.uniform(lead + 12, 60)) + safety)
                status = "on_sale"
            self.t.products.append((p.id, p.name, p.category, p.price, p.cost, stock, safety, lead, status, restock_on,
                                    p.description, created))

    def qna(self) -> None:
        rng = self.rng
        if not self.delivered:
            return
        n = max(12, len(self.t.orders) // 30)
        seq = 0

        def add(oid_index: int, asked: datetime, answered: bool) -> None:
            nonlocal seq
            _oid, cust, _at, pids = self.delivered[oid_index]
            product = PRODUCT_BY_ID[rng.choice(pids)]
            question, answer = rng.choice(QNA[product.kind])
            seq += 1
            answered_at = min(self.now, asked + timedelta(hours=rng.uniform(2, 30))) if answered else None
            self.t.qna.append((f"Q-{seq:06d}", product.id, f"C-{cust:05d}", question, asked,
                               answer if answered else None, answered_at, answered))

        for _ in range(n - 6):
            k = rng.randrange(len(self.delivered))
            asked = self.delivered[k][2] + timedelta(hours=rng.uniform(1, 72))
            if asked > self.now:
                asked = self.now - timedelta(hours=rng.uniform(1, 3))
            add(k, asked, self.now - asked > timedelta(days=2) and rng.random() < 0.97)
        # six unanswered questions from the last two days: the owner's to-do list
        recent = sorted(range(len(self.delivered)), key=lambda j: self.delivered[j][2])[-30:]
        for _ in range(6):
            k = rng.choice(recent)
            span = max(60.0, (self.now - self.delivered[k][2]).total_seconds())
            asked = self.now - timedelta(seconds=rng.uniform(30, min(span, 40 * 3600.0)))
            add(k, asked, False)

    def settlements(self) -> None:
        for day in sorted(self.sales_by_day):
            sales = self.sales_by_day[day]
            commission = int((Decimal(sales) * self.rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            self.t.settlements.append((day, sales, commission, sales - commission))


# --- writing ----------------------------------------------------------------------------------------


def bulk_insert(conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[tuple[Any, ...]],
                chunk: int = 20_000) -> int:
    """Insert tuples fast in the caller's transaction: COPY on PostgreSQL, executemany on SQLite.

    Values are Python objects (aware datetimes, dates, ints/Decimals, lists for JSON columns); SQLite
    values go through SQLAlchemy's own bind processors, so rows read back exactly like ORM-written ones.
    """
    dialect = conn.dialect
    raw = conn.connection.dbapi_connection
    assert raw is not None
    count = 0
    col_list = ", ".join(columns)
    if dialect.name == "postgresql":
        json_idx = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({col_list}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in rows:
                if json_idx:
                    row = tuple(json.dumps(v, ensure_ascii=False) if i in json_idx and v is not None else v
                                for i, v in enumerate(row))
                copy.write_row(row)
                count += 1
        return count
    procs = [_fast_sqlite_processor(table.c[c].type) or table.c[c].type.dialect_impl(dialect).bind_processor(dialect)
             for c in columns]
    active = [(i, p) for i, p in enumerate(procs) if p is not None]
    sql = f"INSERT INTO {table.name} ({col_list}) VALUES ({', '.join('?' * len(columns))})"
    cur = raw.cursor()
    batch: list[tuple[Any, ...]] = []

    def flush() -> None:
        cur.executemany(sql, batch)
        batch.clear()

    for row in rows:
        if active:
            values = list(row)
            for i, p in active:
                if values[i] is not None:
                    values[i] = p(values[i])
            row = tuple(values)
        batch.append(row)
        count += 1
        if len(batch) >= chunk:
            flush()
    if batch:
        flush()
    cur.close()
    return count


def _sqlite_datetime(v: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text format, `2026-11-24 04:20:00.000000` (UTC)."""
    if v.tzinfo is not UTC:
        v = v.astimezone(UTC)
    return v.isoformat(" ", "microseconds")[:26]  # drop the "+00:00"


def _sqlite_money(v: Any) -> Any:
    return v if type(v) is int else float(v)  # what SQLAlchemy binds for Numeric on SQLite


def _fast_sqlite_processor(type_: Any) -> Callable[[Any], Any] | None:
    """C-speed converters for the hot columns, identical in output to SQLAlchemy's own processors."""
    from .types import UTCDateTime

    if isinstance(type_, UTCDateTime):
        return _sqlite_datetime
    if isinstance(type_, Numeric) and not isinstance(type_, Float):
        return _sqlite_money
    return None


_RESET_ORDER = [OutboxMessage, CouponIssue, Coupon, CustomerSegment, SegmentationRun, Attachment, Message,
                Conversation, Review, ProductQna, Claim, OrderItem, Order, Settlement, Customer, Product]


def reset_store(conn: Connection) -> None:
    """Delete the shop's business data (and the conversations/CRM rows that point at customers).

    Users, the manual, learned answers, embeddings, shop settings and the audit log stay.
    """
    for model in _RESET_ORDER:
        conn.execute(delete(model))


_NOT_EMPTY = ("the store already has data (customers, products or orders); "
              "use `sajang seed-demo --reset` to replace it with the demo shop")


def _has_business_data(conn: Connection) -> bool:
    return any(conn.execute(select(func.count()).select_from(m.__table__)).scalar()
               for m in (Customer, Product, Order))


def demo_now(today: date) -> datetime:
    """The moment a demo shop seeded for `today` is written at (15:00 in Korea): its "now"."""
    return datetime.combine(today, time(15), KST).astimezone(UTC)


def seed_demo_store(engine: Engine, customers: int = 300, seed: int = 42, today: date | None = None,
                    progress: Progress | None = None, *, reset: bool = False,
                    delivery_fee: Decimal | int = 3000, free_shipping_threshold: Decimal | int = 50000,
                    commission_rate: Decimal = Decimal("0.055"),
                    rebuild_indexes: bool | None = None) -> dict[str, Any]:
    """Write the demo shop in one transaction; returns row counts.

    Refuses (DataError) when the store already has customers, products or orders unless `reset=True`,
    which first deletes the business data (see `reset_store`). `rebuild_indexes` (default: from 5,000
    customers on) drops the secondary indexes of the big tables during the load and rebuilds them after.
    """
    if rebuild_indexes is None:
        rebuild_indexes = customers >= 5000
    if customers < 1:
        raise DataError("customers must be at least 1")
    say = progress or (lambda _msg: None)
    if not reset:
        with engine.connect() as conn:
            if _has_business_data(conn):
                raise DataError(_NOT_EMPTY)
    now = datetime.now(UTC).replace(microsecond=0) if today is None else demo_now(today)
    gen = _Generator(customers, seed, now, int(delivery_fee), int(free_shipping_threshold), Decimal(commission_rate))

    say(f"generating {customers:,} customers (seed {seed}, today {gen.today})")
    plans = gen.customers()
    plans += gen.stories()
    plans.sort(key=lambda p: (p.ts, p.cust))
    say(f"generating {len(plans):,} orders")
    for plan in plans:
        gen.order(plan)
    extra = gen.restock_pressure()
    extra.sort(key=lambda p: (p.ts, p.cust))
    for plan in extra:
        gen.order(plan)
    gen.products()
    gen.qna()
    gen.settlements()
    t = gen.t

    with engine.begin() as conn:
        pg = conn.dialect.name == "postgresql"
        if pg:  # the sales-rollup triggers (migration 0004) cost ~2x the load here: rebuilt in one pass below
            for table_name in ("orders", "order_items"):
                conn.exec_driver_sql(f"ALTER TABLE {table_name} DISABLE TRIGGER USER")
        if _has_business_data(conn):
            if not reset:
                raise DataError(_NOT_EMPTY)
            say("deleting the existing business data (--reset)")
            reset_store(conn)
        counts: dict[str, Any] = {}
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:  # random-position index inserts thrash the default 2 MB page cache on big shops
            conn.exec_driver_sql("PRAGMA cache_size=-1000000")
        else:  # this transaction only: bigger sort memory for the index builds, no wait for the WAL flush
            conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
        # the tables are empty now: building secondary indexes once at the end is much faster than
        # maintaining them row by row (the same DDL, so the schema is unchanged afterwards)
        big = (Order, OrderItem, Claim, Review, ProductQna)
        indexes = [ix for m in big for ix in cast(Table, m.__table__).indexes]
        # PostgreSQL checks foreign keys by a trigger per row; re-adding them validates all rows in one pass
        fks = [fk for m in big for fk in cast(Table, m.__table__).foreign_key_constraints] \
            if rebuild_indexes and not sqlite else []
        if rebuild_indexes:
            for fk in fks:
                conn.execute(DropConstraint(fk))
            for ix in indexes:
                ix.drop(conn)
        for name, table, cols, rows in (
            ("products", Product.__table__, PRODUCT_COLS, t.products),
            ("customers", Customer.__table__, CUSTOMER_COLS, t.customers),
            ("orders", Order.__table__, ORDER_COLS, t.orders),
            ("order_items", OrderItem.__table__, ITEM_COLS, t.items),
            ("claims", Claim.__table__, CLAIM_COLS, t.claims),
            ("reviews", Review.__table__, REVIEW_COLS, t.reviews),
            ("qna", ProductQna.__table__, QNA_COLS, t.qna),
            ("settlements", Settlement.__table__, SETTLEMENT_COLS, t.settlements),
        ):
            say(f"writing {len(rows):,} {name}")
            counts[name] = bulk_insert(conn, table, cols, rows)  # type: ignore[arg-type]
        if rebuild_indexes:
            say("building indexes" + (" and checking foreign keys" if fks else ""))
            for ix in indexes:
                ix.create(conn)
            for fk in fks:
                conn.execute(AddConstraint(fk))
        if pg:
            for table_name in ("orders", "order_items"):
                conn.exec_driver_sql(f"ALTER TABLE {table_name} ENABLE TRIGGER USER")
            rebuild_sales_rollup(conn)
        if sqlite:
            conn.exec_driver_sql("PRAGMA cache_size=-2000")
        else:
            conn.exec_driver_sql("ANALYZE")
    counts["today"] = gen.today.isoformat()
    counts["seed"] = seed
    return counts
