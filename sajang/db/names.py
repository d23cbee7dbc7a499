"""Deterministic, obviously fake Korean personal data for the demo shop.

Phones are `010-0000-xxxx` style (the `0000` middle block is never assigned to a real subscriber for the
first 10,000 customers), e-mails use `example.com`, addresses pick real region names but made-up
street numbers and apartment units. Everything is a pure function of the customer index and a seed.
"""

from __future__ import annotations

import random

# Frequent family names, weighted roughly like the population (김, 이, 박 … first).
SURNAMES = (
    ["김"] * 21 + ["이"] * 15 + ["박"] * 8 + ["최"] * 5 + ["정"] * 5 + ["강"] * 2 + ["조"] * 2 + ["윤"] * 2
    + ["장"] * 2 + ["임"] * 2 + ["한", "오", "서", "신", "권", "황", "안", "송", "류", "전", "홍", "고", "문", "양",
                                "손", "배", "백", "허", "유", "남", "심", "노"]
)
GIVEN_FIRST = list("민서지수현예하도윤준은채유진소다연영재승태시주혜성경정미희나아세")
GIVEN_SECOND = list("준서윤우민현아은진호연희수영원빈훈율린경재주혁성지석람솔나")

REGIONS: list[tuple[str, list[str]]] = [
    ("서울특별시", ["강남구", "마포구", "송파구", "노원구", "관악구", "성동구", "은평구", "강서구"]),
    ("경기도", ["성남시 분당구", "수원시 영통구", "고양시 일산동구", "용인시 수지구", "화성시", "남양주시", "파주시"]),
    ("인천광역시", ["연수구", "남동구", "부평구", "서구"]),
    ("부산광역시", ["해운대구", "수영구", "부산진구", "동래구"]),
    ("대구광역시", ["수성구", "달서구", "북구"]),
    ("대전광역시", ["유성구", "서구", "중구"]),
    ("광주광역시", ["북구", "서구", "광산구"]),
    ("울산광역시", ["남구", "중구"]),
    ("세종특별자치시", ["한솔동", "도담동"]),
    ("강원특별자치도", ["춘천시", "원주시", "강릉시"]),
    ("충청북도", ["청주시 흥덕구", "충주시"]),
    ("충청남도", ["천안시 서북구", "아산시"]),
    ("전북특별자치도", ["전주시 완산구", "익산시"]),
    ("전라남도", ["여수시", "순천시", "목포시"]),
    ("경상북도", ["포항시 남구", "구미시", "경주시"]),
    ("경상남도", ["창원시 성산구", "김해시", "진주시"]),
    ("제주특별자치도", ["제주시", "서귀포시"]),
]
REGION_WEIGHTS = [19, 26, 6, 7, 5, 3, 3, 2, 1, 3, 3, 4, 3, 3, 4, 5, 2]
STREETS = ["행복로", "새솔길", "한빛로", "푸른숲로", "햇살길", "가람로", "누리로", "별빛길", "솔바람로", "은행나무길",
           "미리내로", "다온길", "꽃마을로", "청림로", "하늘정원길"]


def person_name(index: int, seed: int, rng: random.Random | None = None) -> str:
    """A Korean full name for customer `index` (1-based). Customer 1 is always 홍길동, the demo persona.

    Pass `rng` to draw from a running generator (fast for 100k customers); without it the name is a pure
    function of (index, seed).
    """
    if index == 1:
        return "홍길동"
    rng = rng or random.Random(seed * 1_000_003 + index)
    return rng.choice(SURNAMES) + rng.choice(GIVEN_FIRST) + rng.choice(GIVEN_SECOND)


def phone(index: int) -> str:
    """`010-0000-0001` … `010-0000-9999`, then `010-0001-0000` …: fake and unique per customer."""
    return f"010-{index // 10000:04d}-{index % 10000:04d}"


def email(index: int) -> str:
    return f"customer{index:05d}@example.com"


def address(index: int, seed: int, rng: random.Random | None = None) -> str:
    rng = rng or random.Random(seed * 7_919 + index)
    region, districts = rng.choices(REGIONS, weights=REGION_WEIGHTS)[0]
    district = rng.choice(districts)
    street = rng.choice(STREETS)
    if rng.random() < 0.7:
        unit = f"{rng.randint(101, 115)}동 {rng.randint(1, 25)}{rng.randint(1, 6):02d}호"
    else:
        unit = f"{rng.randint(1, 4)}층"
    return f"{region} {district} {street} {rng.randint(1, 199)}, {unit}"
