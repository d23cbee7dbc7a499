"""The real third-party review set: a fixed sample of the Naver Shopping review corpus.

Source: bab2min/corpus `sentiment/naver_shopping.txt` (200,000 Naver Shopping reviews collected 2020-06/07,
rating 1–2★ or 4–5★ with the text; licence: Public Domain, per the corpus README). Third-party data is not
copied into this repository: it lives beside it, in `../shared/data/reviews/naver_shopping_sample.tsv`
(CI always has it; a clone without `../shared` skips what needs it). Its 2,500 rows are the balanced sample
(1,250 reviews of 1–2★, 1,250 of 4–5★) that a public lecture repository (minvv23/mbc-python-lectures,
`data/naver_shopping.csv` at commit c36820dddabd1514d4826515456ba77e3ce32b5e, columns review, label =
rating ≥ 4) took from that file. This module rebuilds the TSV from that CSV, deterministically:

    python -m sajang.graphs.review.naver_sample --source naver_shopping.csv \
        --out ../shared/data/reviews/naver_shopping_sample.tsv

TSV columns: `id` (N-<row of the source CSV>), `negative` (1 = 1–2★), `group` (a product group guessed from
the text by keywords: clothes, kids, gadgets, cosmetics, household, food, other; the corpus names no
product), `split` (`train` or `heldout`), `text`. The held-out split (40 % of every group × label stratum,
chosen by a hash of the text) is never used for training or for tuning rules or thresholds. Source rows 0–289
were read while the data set was being found, so they are always in the train split.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# beside the repository, not in it: <repo>/../shared/data/reviews/ (sajang/graphs/review/ → <repo> is 3 up)
NAVER_PATH = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "reviews" / "naver_shopping_sample.tsv"
GROUPS: tuple[str, ...] = ("clothes", "kids", "gadgets", "cosmetics", "household", "food", "other")
HELDOUT_SHARE = 0.4
SEEN_ROWS = 290  # source rows 0–289 were displayed during data acquisition → train only

# First match wins, in this order: a baby's sock is "kids", a phone case "gadgets", a food smell "food".
_GROUP_WORDS: dict[str, str] = {
    "kids": r"아기|아이가|아이들|애기|유아|아이\s?(옷|신발|장난감)|아들|딸아이|딸이|어린이|장난감|기저귀|젖병|이유식|치발기|"
            r"신생아|돌아기|아가|조리원|유모차|카시트|범퍼|초등|키즈",
    "clothes": r"바지|티셔츠|셔츠|원피스|치마|스커트|자켓|재킷|코트|패딩|니트|가디건|맨투맨|후드|레깅스|속옷|팬티|브라|양말|"
               r"신발|운동화|구두|슬리퍼|샌들|모자|장갑|가방|지갑|벨트|옷|사이즈|핏|기장|허리|어깨|소매|밑단|원단|"
               r"바느질|박음질|보풀|입어|입으|입고|신어|신고|입기|착용|싸이즈",
    "gadgets": r"충전|배터리|밧데리|케이블|이어폰|블루투스|마우스|키보드|모니터|노트북|태블릿|아이패드|폰|액정|필름|"
               r"스피커|리모콘|리모컨|전원|전구|조명|LED|led|선풍기|드라이기|청소기|가습기|작동|연결|앱|소음|고장|"
               r"전기|콘센트|멀티탭|카메라|화질|유심|와이파이|거치대|보조배터리|시계",
    "cosmetics": r"피부|트러블|크림|로션|화장|쿠션|립|향수|샴푸|린스|바디|세안|클렌징|마스크팩|팩|앰플|세럼|토너|"
                 r"선크림|발림|발색|머리결|염색|네일|매니큐어|바르|뾰루지|여드름|각질|보습|촉촉|얼굴|두피|향이|향도",
    "food": r"맛|먹|드시|드셨|신선|싱싱|간이|짜|달아|달고|달지|싱거|고기|김치|과일|야채|채소|반찬|유통\s?기한|"
            r"밥|국물|라면|과자|커피|음료|우유|쌀|떡|빵|고구마|감자|귤|사과|딸기|수박|새우|생선|회|닭|소스|양념|"
            r"식감|요리|간식",
    "household": r"조립|수납|청소|세제|설치|냄새|욕실|주방|냄비|프라이팬|그릇|컵|텀블러|수건|이불|베개|매트|커튼|"
                 r"의자|책상|테이블|선반|행거|옷걸이|휴지|물티슈|봉투|테이프|스티커|캠핑|텐트|화분|식물|"
                 r"고양이|강아지|사료|모기|방향제|디퓨저|용기|뚜껑|빨래|세탁|칫솔|배개|쿠션감|정리",
}
_GROUP_RES = {g: re.compile(p) for g, p in _GROUP_WORDS.items()}


def product_group(text: str) -> str:
    """The product group a review is most likely about, guessed from its words ("other" when none)."""
    for group, pattern in _GROUP_RES.items():
        if pattern.search(text):
            return group
    return "other"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_rows(source: Iterable[dict[str, str]]) -> list[dict[str, Any]]:
    """TSV rows from the source CSV's rows (columns: index, review, label), with group and split."""
    rows: list[dict[str, Any]] = []
    seen_texts: set[str] = set()
    for rec in source:
        text = re.sub(r"\s+", " ", (rec.get("review") or "")).strip()
        if not text or text in seen_texts or rec.get("label") not in ("0", "1"):
            continue
        seen_texts.add(text)
        idx = int(rec.get("") or rec.get("index") or len(rows))
        rows.append({"id": f"N-{idx}", "index": idx, "negative": 1 - int(rec["label"]),
                     "group": product_group(text), "text": text})
    strata: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in rows:
        strata.setdefault((r["group"], r["negative"]), []).append(r)
    for members in strata.values():
        want = round(len(members) * HELDOUT_SHARE)
        candidates = sorted((r for r in members if r["index"] >= SEEN_ROWS), key=lambda r: _hash(r["text"]))
        held = {id(r) for r in candidates[:want]}
        for r in members:
            r["split"] = "heldout" if id(r) in held else "train"
    rows.sort(key=lambda r: r["index"])
    return rows


def write_tsv(rows: list[dict[str, Any]], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("id\tnegative\tgroup\tsplit\ttext\n")
        for r in rows:
            fh.write(f"{r['id']}\t{r['negative']}\t{r['group']}\t{r['split']}\t{r['text'].replace(chr(9), ' ')}\n")


def load_naver(path: Path = NAVER_PATH, split: str | None = None) -> list[dict[str, Any]]:
    """The sample's rows as dicts (`id`, `text`, `negative` bool, `group`, `split`); `split` filters
    (None or "all" keeps every row). An absent file gives an empty list."""
    if not path.exists():
        return []
    out: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if n == 0 or not line.strip():
                continue
            rid, neg, group, sp, text = line.rstrip("\n").split("\t", 4)
            if split and split != "all" and sp != split:
                continue
            out.append({"id": rid, "text": text, "negative": neg == "1", "group": group, "split": sp})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", type=Path, required=True, help="the source CSV (columns: index, review, label)")
    ap.add_argument("--out", type=Path, default=NAVER_PATH)
    args = ap.parse_args(argv)
    with args.source.open(encoding="utf-8", newline="") as fh:
        rows = build_rows(csv.DictReader(fh))
    write_tsv(rows, args.out)
    counts = Counter((r["group"], r["split"], r["negative"]) for r in rows)
    for g in GROUPS:
        sys.stderr.write(f"{g:<10} train {counts[(g, 'train', 1)]:>4} neg {counts[(g, 'train', 0)]:>4} ok   "
                         f"heldout {counts[(g, 'heldout', 1)]:>4} neg {counts[(g, 'heldout', 0)]:>4} ok\n")
    sys.stderr.write(f"{len(rows)} rows → {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
