"""Import a shop's own data from CSV / .xlsx / JSON / JSONL into the store.

`import_file(engine, kind, path, mapping, preset)` opens the file (`sheets.open_table`: encodings, .xlsx,
encrypted workbooks, cut-off rows), then validates and upserts it in chunks of CHUNK_ROWS rows inside ONE
transaction (`INSERT … ON CONFLICT DO UPDATE` on SQLite and PostgreSQL): memory stays flat for big files,
and any error — a bad value, a cut-off last row — rolls every chunk back, so a wrong file writes nothing.
Importing the same file twice changes nothing. Errors name the physical line of the file (`line 7: amount
'12,3x' is not an amount`), the sheet row of an .xlsx (`row 7: …`), for a JSON array the line where the
element starts (and its index).

Field rules (DESIGN.md "Import fields"):
- a column named like the canonical field needs no mapping; `--map FIELD=COLUMN` maps any other;
  `--preset smartstore|coupang|cafe24` maps the Korean columns of those order exports (see PRESETS);
- dates: ISO 8601 (`2011-12-09`, `2011-12-09T14:30:00+09:00`, also `2011.12.09 14:30`); a date without
  an offset is shop time (Asia/Seoul) and is stored in UTC;
- money: exact decimals; `12,300`, `12300원`, `₩12,300` are accepted, floats never are produced; a
  float's rendering of an amount (`22.200000000000003`) is that amount, a finer one is an error;
- `--map order_id=customer_id+date` synthesises a key from several columns (joined with `-`);
- columns present in the file are written (an empty cell writes NULL); columns absent are left alone.

`orders` rows are order lines: rows sharing an `order_id` form one order whose amount is the sum of
their `amount`s; a row with `product_id`/`product_name` becomes an order item (products and customers
that do not exist yet are created); `claim_type` (+ `claim_reason`) creates the order's claim.
Without a `status` column imported orders are `delivered` (history exports are of finished orders).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Connection, Engine, delete, func, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .errors import DataError
from .models import Claim, Customer, Order, OrderItem, Product, ProductQna, Review, Settlement
from .sheets import Table, open_table

SHOP_TZ = ZoneInfo("Asia/Seoul")
MAX_BYTES = 1024 * 1024 * 1024  # 1 GiB: bigger exports should be split
PROGRESS_EVERY = 50_000
MAX_REPORTED_ERRORS = 5
CHUNK_ROWS = 10_000  # rows validated and written at a time (all in one transaction)
MONEY_PLACES = 2  # the store's money columns are NUMERIC(14, 2)
# decimals a currency's amounts may have (ISO 4217 minor units); without a currency: MONEY_PLACES
CURRENCY_PLACES = {"KRW": 0, "JPY": 0, "USD": 2, "EUR": 2, "CNY": 2, "GBP": 2}
Progress = Callable[[str], None]

FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "orders": (("order_id", "customer_id", "ordered_at", "amount"),
               ("status", "product_id", "product_name", "quantity", "customer_name", "claim_type", "claim_reason")),
    "customers": (("customer_id",), ("name", "phone", "email", "joined_at")),
    "products": (("product_id", "name"), ("category", "price", "cost", "stock", "safety_stock", "status",
                                          "restock_on", "description", "options", "ingredients", "size", "origin")),
    "reviews": (("review_id", "text"), ("rating", "product_id", "customer_id", "created_at")),
    "qna": (("question_id", "text"), ("product_id", "customer_id", "asked_at", "answer", "answered_at",
                                      "marketplace")),
    "settlements": (("settled_on", "amount"), ("sales", "commission")),
}
KINDS = (*FIELDS, "manual")

# Korean column names of the marketplaces' order exports, per canonical field (first match wins). Only names
# seen in real export headers are listed; README.md "Marketplace presets" cites where each was found and
# which fields no source confirmed (those need --map).
PRESETS: dict[str, dict[str, list[str]]] = {
    # Naver SmartStore 판매자센터 › 주문통합검색 / 발주발송관리 › 엑셀 다운로드: one row per 상품주문번호,
    # the header on row 2 under a title row, often a password-protected .xlsx. The current download names
    # the amount 최종 상품별 총 주문금액 (beside 최초 …), the older one 상품별 총 주문금액 (the 66-column header
    # in heedu-yoon/excelParser WindowsFormsApp1/objectClass/SmartStore.cs; fixture smartstore_orders.csv)
    "smartstore": {
        "order_id": ["주문번호"],
        "customer_id": ["구매자ID"],
        "customer_name": ["구매자명"],
        "ordered_at": ["결제일", "주문일시"],
        "amount": ["최종 상품별 총 주문금액", "상품별 총 주문금액", "최초 상품별 총 주문금액"],
        "status": ["주문상태"],
        "product_id": ["상품번호", "productId"],
        "product_name": ["상품명"],
        "quantity": ["수량"],
        # product Q&A: the Commerce API's 상품 문의 목록 조회 answer saved as JSON ({"contents": [...]})
        "question_id": ["questionId"],
        "text": ["question"],
        "asked_at": ["createDate"],
    },
    # Coupang WING › 배송관리 › DeliveryList 엑셀 (sheet "Delivery", one row per 옵션; the older layout in
    # bbyuck/bdd-server src/main/java/com/bb/bdd/domain/excel/dto/CoupangColumnDto.java). It has no buyer ID
    # column: customer_id must be mapped (e.g. --map customer_id=구매자전화번호) knowingly.
    "coupang": {
        "order_id": ["주문번호"],
        "customer_name": ["구매자"],
        "ordered_at": ["주문일"],
        "amount": ["결제액"],
        "product_id": ["노출상품ID", "productId"],
        "product_name": ["등록상품명", "노출상품명(옵션명)"],
        "quantity": ["구매수(수량)"],
        # product Q&A: the items of onlineInquiries' data.content saved as a JSON array (no answer field:
        # answers sit in commentDtoList; import unanswered ones, answeredType=NOANSWER)
        "question_id": ["inquiryId"],
        "text": ["content"],
        "asked_at": ["inquiryAt"],
    },
    # Cafe24 쇼핑몰 관리자 › 주문 › 주문 엑셀 다운로드: the columns are the seller's chosen template fields
    # (one row per 품목별 주문번호)
    "cafe24": {
        "order_id": ["주문번호"],
        "customer_id": ["주문자 아이디", "주문자ID", "주문자아이디", "회원아이디"],
        "customer_name": ["주문자명", "주문자 이름"],
        "ordered_at": ["주문일시", "결제일시(입금확인일)", "결제일시"],
        "amount": ["상품구매금액(KRW)", "상품구매금액", "상품별 결제금액", "총 결제금액"],
        "status": ["주문상태", "주문 상태", "처리상태"],
        "product_id": ["상품번호", "상품코드"],
        "product_name": ["상품명(한국어 쇼핑몰)", "주문상품명", "상품명"],
        "quantity": ["수량"],
        "claim_type": ["클레임 구분", "CS 구분", "취소/교환/반품"],
        "claim_reason": ["클레임 사유", "취소사유", "반품사유", "교환사유"],
    },
}

# order status words of the exports → (status, implied open claim type or None)
_STATUS_WORDS: dict[str, tuple[str, str | None]] = {
    "paid": ("paid", None), "preparing": ("preparing", None), "shipping": ("shipping", None),
    "delivered": ("delivered", None), "cancelled": ("cancelled", None), "canceled": ("cancelled", None),
    "returned": ("returned", None), "exchanged": ("exchanged", None),
    "결제완료": ("paid", None), "입금완료": ("paid", None), "신규주문": ("paid", None), "입금확인": ("paid", None),
    "입금전": ("paid", None), "입금대기": ("paid", None),
    "발주확인": ("preparing", None), "발송대기": ("preparing", None), "상품준비중": ("preparing", None),
    "배송준비중": ("preparing", None), "배송대기": ("preparing", None), "배송준비": ("preparing", None),
    "배송중": ("shipping", None), "발송완료": ("shipping", None), "발송처리": ("shipping", None),
    "배송완료": ("delivered", None), "구매확정": ("delivered", None),
    "취소": ("cancelled", None), "취소완료": ("cancelled", None), "주문취소": ("cancelled", None),
    "입금전취소": ("cancelled", None), "반품": ("returned", None), "반품완료": ("returned", None),
    "교환": ("exchanged", None), "교환완료": ("exchanged", None),
    "취소요청": ("paid", "cancel"), "반품요청": ("delivered", "return"), "교환요청": ("delivered", "exchange"),
}
_CLAIM_WORDS = {"cancel": "cancel", "return": "return", "exchange": "exchange", "refund": "refund",
                "취소": "cancel", "반품": "return", "교환": "exchange", "환불": "refund"}
_PRODUCT_STATUS = {"on_sale": "on_sale", "sold_out": "sold_out", "hidden": "hidden", "판매중": "on_sale",
                   "품절": "sold_out", "숨김": "hidden", "판매중지": "hidden"}


class RowError(ValueError):
    """A bad value in one row; the caller adds the line number."""


@dataclass
class _Row:
    line: int  # physical line where the record starts
    values: dict[str, Any]
    label: str = ""  # "line 7" or "line 7 (item 3)"


@dataclass
class ImportPlan:
    kind: str
    columns: dict[str, str]  # canonical field → source column
    rows: Iterator[_Row]  # read lazily from `table`
    table: Table


# --- reading -------------------------------------------------------------------------------------


def parse_mapping(items: list[str] | dict[str, str] | None, kind: str) -> dict[str, str]:
    """`["order_id=주문번호", ...]` → {"order_id": "주문번호"}; unknown fields are an error."""
    if not items:
        return {}
    pairs = items.items() if isinstance(items, dict) else [_split_map(i) for i in items]
    allowed = set(FIELDS[kind][0]) | set(FIELDS[kind][1]) if kind in FIELDS else None
    out: dict[str, str] = {}
    for fld, col in pairs:
        if allowed is not None and fld not in allowed:
            raise DataError(f"--map {fld}={col}: unknown field {fld!r} for {kind} (fields: {', '.join(sorted(allowed))})")
        out[fld] = col
    return out


def _split_map(item: str) -> tuple[str, str]:
    fld, sep, col = item.partition("=")
    if not sep or not fld.strip() or not col.strip():
        raise DataError(f"--map {item!r}: expected FIELD=COLUMN")
    return fld.strip(), col.strip()


def _header_test(kind: str, mapping: dict[str, str], preset: str | None) -> Callable[[list[str]], bool]:
    """Does a row look like this kind's header? (It names a field, a --map column or a preset column.)"""
    names = {f.lower() for f in (*FIELDS[kind][0], *FIELDS[kind][1])}
    names |= {part.lower() for col in mapping.values() for part in (col, *col.split("+"))}
    if preset:
        names |= {cand.lower() for cands in PRESETS[preset].values() for cand in cands}
    return lambda cells: any(c.lower() in names for c in cells)


def _resolve_columns(kind: str, columns: list[str], mapping: dict[str, str], preset: str | None) -> dict[str, str]:
    required, optional = FIELDS[kind]
    resolved: dict[str, str] = {}
    lower = {c.lower().strip(): c for c in columns}
    for fld in (*required, *optional):
        if fld in mapping:
            col = mapping[fld]
            parts = col.split("+")
            if col not in columns and not (len(parts) > 1 and all(p in columns for p in parts)):
                raise DataError(f"--map {fld}={col}: no column {col!r} in the file "
                                f"(columns: {', '.join(columns)}; join columns with +, e.g. customer_id+date)")
            resolved[fld] = col
        elif fld in lower:
            resolved[fld] = lower[fld]
        elif preset:
            for cand in PRESETS[preset].get(fld, []):
                if cand in columns:
                    resolved[fld] = cand
                    break
    missing = [f for f in required if f not in resolved]
    if missing:
        hint = f" or --preset {preset}" if preset else f" (or --preset {'|'.join(PRESETS)})" if kind == "orders" else ""
        raise DataError(f"missing required field(s) {', '.join(missing)}: the file's columns are "
                        f"{', '.join(columns)}; use --map FIELD=COLUMN{hint}")
    return resolved


def _mapped_rows(table: Table, columns: dict[str, str], progress: Progress | None) -> Iterator[_Row]:
    composite = {f: c.split("+") for f, c in columns.items() if c not in table.columns}
    for n, (line, label, rec) in enumerate(table.records, start=1):
        values = {f: rec.get(c) for f, c in columns.items()}
        for f, parts in composite.items():  # a synthesised key such as customer_id+date → "12-1997-01-12"
            cells = [_text(rec.get(p)) for p in parts]
            values[f] = None if any(c is None for c in cells) else "-".join(cells)  # type: ignore[arg-type]
        if progress and n % PROGRESS_EVERY == 0:
            progress(f"read {n:,} rows")
        yield _Row(line, values, label)


def read_rows(path: Path, kind: str, mapping: dict[str, str], preset: str | None = None,
              progress: Progress | None = None, *, sheet: str | None = None,
              password: str | None = None) -> ImportPlan:
    """Open the file and map its columns onto the canonical fields; rows are read as the plan is consumed
    (close `plan.table` when done). Values are not validated yet."""
    if preset is not None and preset not in PRESETS:
        raise DataError(f"unknown preset {preset!r} (presets: {', '.join(PRESETS)})")
    table = open_table(path, sheet=sheet, password=password, is_header=_header_test(kind, mapping, preset),
                       max_bytes=MAX_BYTES)
    try:
        columns = _resolve_columns(kind, table.columns, mapping, preset)
    except BaseException:
        table.close()
        raise
    return ImportPlan(kind, columns, _mapped_rows(table, columns, progress), table)


# --- values --------------------------------------------------------------------------------------

_MONEY_JUNK = re.compile(r"[,\s원₩]|KRW", re.IGNORECASE)
_FLOAT_NOISE = Decimal("1e-12")


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _text(v: Any) -> str | None:
    if _blank(v):
        return None
    if isinstance(v, Decimal):
        v = format(v, "f")
    return str(v).strip()


def parse_money(v: Any, name: str, *, allow_negative: bool = False, places: int = MONEY_PLACES,
                currency: str | None = None) -> Decimal | None:
    """An exact amount with at most `places` decimals. A binary float's rendering of such an amount
    (`22.200000000000003` written by a spreadsheet or pandas for 22.2) is read as that amount; a finer
    amount (`22.123` with 2 places, `12300.5` for KRW) is an error."""
    if _blank(v):
        return None
    if isinstance(v, bool):
        raise RowError(f"{name} {v!r} is not an amount")
    if isinstance(v, int | Decimal):
        d = Decimal(v)
    elif isinstance(v, float):  # an .xlsx number cell: its shortest repr is the text Excel would show
        d = Decimal(repr(v))
    else:
        s = _MONEY_JUNK.sub("", str(v))
        try:
            d = Decimal(s)
        except InvalidOperation:
            raise RowError(f"{name} {v!r} is not an amount") from None
    if not d.is_finite():
        raise RowError(f"{name} {v!r} is not an amount")
    if d < 0 and not allow_negative:
        raise RowError(f"{name} {v!r} is negative")
    exact = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    if d != exact:
        if not _float_noise(d, exact):
            if places == 0:
                raise RowError(f"{name} {v!r} is not a whole amount ({currency or 'the currency'} has no decimals)")
            raise RowError(f"{name} {v!r} has more than {places} decimal places")
        d = exact
    return d + 0  # -0 → 0


def _float_noise(d: Decimal, exact: Decimal) -> bool:
    """Is `d` a binary float's rendering of `exact`? Such text has 15–17 significant digits (a double's
    precision) and differs from the exact amount only in those last digits (sums of floats drift a few
    units in the last place, so the bound is relative: 1e-12, some 4,500 units of a double's last place)."""
    significant = len(d.normalize().as_tuple().digits)
    return significant >= 15 and abs(d - exact) <= max(abs(exact), Decimal(1)) * _FLOAT_NOISE


def parse_int(v: Any, name: str, lo: int | None = 0, hi: int | None = None) -> int | None:
    if _blank(v):
        return None
    try:
        if isinstance(v, bool):
            raise ValueError
        d = Decimal(str(v).replace(",", "").strip())
        if d != d.to_integral_value():
            raise ValueError
        n = int(d)
    except (ValueError, InvalidOperation):
        raise RowError(f"{name} {v!r} is not a whole number") from None
    if lo is not None and n < lo:
        raise RowError(f"{name} {n} is below {lo}")
    if hi is not None and n > hi:
        raise RowError(f"{name} {n} is above {hi}")
    return n


_DATE_SEP = re.compile(r"^(\d{4})[./](\d{1,2})[./](\d{1,2})\.?")


def parse_datetime(v: Any, name: str) -> datetime | None:
    """ISO 8601; without an offset the time is shop time (Asia/Seoul). Returned in UTC."""
    if _blank(v):
        return None
    s = str(v).strip()
    m = _DATE_SEP.match(s)
    if m:  # 2024.01.05 / 2024/1/5 as Korean exports write them
        s = f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}" + s[m.end():]
    try:
        if len(s) == 10:
            dt = datetime.combine(date.fromisoformat(s), time(0))
        else:
            dt = datetime.fromisoformat(s.replace(" ", "T", 1) if "T" not in s else s)
    except ValueError:
        raise RowError(f"{name} {v!r} is not an ISO 8601 date (e.g. 2026-11-24 or 2026-11-24T14:30:00+09:00)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=SHOP_TZ)
    return dt.astimezone(UTC)


def parse_date(v: Any, name: str) -> date | None:
    if _blank(v):
        return None
    s = str(v).strip()
    m = _DATE_SEP.match(s)
    if m:
        s = f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}" + s[m.end():]
    try:
        return date.fromisoformat(s[:10]) if len(s) >= 10 and s[10:11] in ("", "T", " ") else date.fromisoformat(s)
    except ValueError:
        raise RowError(f"{name} {v!r} is not an ISO 8601 date (e.g. 2026-11-24)") from None


def _required_text(values: dict[str, Any], fld: str, max_len: int = 200) -> str:
    s = _text(values.get(fld))
    if s is None:
        raise RowError(f"{fld} is empty")
    if len(s) > max_len:
        raise RowError(f"{fld} is longer than {max_len} characters")
    return s


def _status(v: Any) -> tuple[str, str | None] | None:
    s = _text(v)
    if s is None:
        return None
    key = re.sub(r"\s+", "", s).lower()
    if key in _STATUS_WORDS:
        return _STATUS_WORDS[key]
    raise RowError(f"status {s!r} is unknown (paid, preparing, shipping, delivered, cancelled, returned, "
                   "exchanged, or the Korean 결제완료/배송중/배송완료/취소완료 …)")


def _claim_type(v: Any) -> str | None:
    s = _text(v)
    if s is None:
        return None
    key = re.sub(r"\s+", "", s).lower()
    for word, ctype in _CLAIM_WORDS.items():
        if key.startswith(word):
            return ctype
    raise RowError(f"claim_type {s!r} is unknown (cancel, return, exchange, refund / 취소, 반품, 교환, 환불)")


# --- validation per kind -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Money:
    """How amounts are read in this import: decimals allowed, and the currency named in messages."""

    places: int = MONEY_PLACES
    currency: str | None = None

    def __call__(self, v: Any, name: str, *, allow_negative: bool = False) -> Decimal | None:
        return parse_money(v, name, allow_negative=allow_negative, places=self.places, currency=self.currency)


def _validated_chunks(plan: ImportPlan, money: _Money, progress: Progress | None) -> Iterator[list[dict[str, Any]]]:
    """Validated rows, CHUNK_ROWS at a time. After the first bad row nothing more is yielded, the rest is
    still checked (up to MAX_REPORTED_ERRORS reported) and a DataError ends the import: the caller writes
    the chunks inside one transaction, so the error rolls every written chunk back."""
    validator = _VALIDATORS[plan.kind]
    chunk: list[dict[str, Any]] = []
    errors: list[str] = []
    n = 0
    try:
        for row in plan.rows:
            n += 1
            try:
                valid = validator(row.values, plan.columns, money)
            except RowError as exc:
                errors.append(f"{row.label}: {exc}")
                if len(errors) > MAX_REPORTED_ERRORS:
                    break
                continue
            if errors:
                continue
            chunk.append(valid)
            if len(chunk) >= CHUNK_ROWS:
                yield chunk
                chunk = []
    except DataError as exc:  # the file itself is broken (a cut-off row …): report it after the bad values
        if not errors:
            raise
        errors.append(str(exc))
    if errors:
        more = f" (and more; first {MAX_REPORTED_ERRORS} shown)" if len(errors) > MAX_REPORTED_ERRORS else ""
        raise DataError("; ".join(errors[:MAX_REPORTED_ERRORS]) + more + " — nothing was imported")
    if n == 0:
        raise DataError(f"{plan.table.path}: no data rows")
    if chunk:
        yield chunk


def _v_orders(v: dict[str, Any], cols: dict[str, str], money: _Money) -> dict[str, Any]:
    status = _status(v.get("status")) if "status" in cols else None
    qty = parse_int(v.get("quantity"), "quantity", lo=1) if "quantity" in cols else None
    claim = _claim_type(v.get("claim_type")) if "claim_type" in cols else None
    return {
        "order_id": _required_text(v, "order_id", 64),
        "customer_id": _required_text(v, "customer_id", 64),
        "ordered_at": parse_datetime(_required_text(v, "ordered_at"), "ordered_at"),
        "amount": money(_required_text(v, "amount"), "amount"),
        "status": status,
        "product_id": _text(v.get("product_id")),
        "product_name": _text(v.get("product_name")),
        "quantity": qty,
        "customer_name": _text(v.get("customer_name")),
        "claim_type": claim,
        "claim_reason": _text(v.get("claim_reason")),
    }


def _v_customers(v: dict[str, Any], cols: dict[str, str], money: _Money) -> dict[str, Any]:
    return {"id": _required_text(v, "customer_id", 64), "name": _text(v.get("name")), "phone": _text(v.get("phone")),
            "email": _text(v.get("email")), "joined_at": parse_datetime(v.get("joined_at"), "joined_at")}


def _v_products(v: dict[str, Any], cols: dict[str, str], money: _Money) -> dict[str, Any]:
    stock = parse_int(v.get("stock"), "stock")
    status = _text(v.get("status"))
    if status is not None:
        key = status.replace(" ", "").lower()
        if key not in _PRODUCT_STATUS:
            raise RowError(f"status {status!r} is unknown (on_sale, sold_out, hidden / 판매중, 품절, 숨김)")
        status = _PRODUCT_STATUS[key]
    elif stock is not None:
        status = "sold_out" if stock == 0 else "on_sale"
    return {"id": _required_text(v, "product_id", 64), "name": _required_text(v, "name"),
            "category": _text(v.get("category")), "price": money(v.get("price"), "price"),
            "cost": money(v.get("cost"), "cost"), "stock": stock if stock is not None else 0,
            "safety_stock": parse_int(v.get("safety_stock"), "safety_stock") or 0, "status": status or "on_sale",
            "restock_on": parse_date(v.get("restock_on"), "restock_on"), "description": _text(v.get("description")),
            "options": _text(v.get("options")), "ingredients": _text(v.get("ingredients")),
            "size": _bounded(v.get("size"), "size", 200), "origin": _bounded(v.get("origin"), "origin", 200)}


def _bounded(v: Any, name: str, max_len: int) -> str | None:
    text = _text(v)
    if text is not None and len(text) > max_len:
        raise RowError(f"{name} is longer than {max_len} characters")
    return text


# marketplace names of a question (what `qna_deadline_hours` is keyed by)
_MARKETPLACES = {"smartstore": "smartstore", "스마트스토어": "smartstore", "naver": "smartstore", "네이버": "smartstore",
                 "coupang": "coupang", "쿠팡": "coupang", "cafe24": "cafe24", "카페24": "cafe24", "own": "own",
                 "자사몰": "own"}


def _marketplace(v: Any) -> str | None:
    text = _text(v)
    if text is None:
        return None
    key = text.replace(" ", "").lower()
    if key not in _MARKETPLACES:
        raise RowError(f"marketplace {text!r} is unknown (smartstore, coupang, cafe24, own)")
    return _MARKETPLACES[key]


def _v_reviews(v: dict[str, Any], cols: dict[str, str], money: _Money) -> dict[str, Any]:
    return {"id": _required_text(v, "review_id", 64), "text": _required_text(v, "text", 20_000),
            "rating": parse_int(v.get("rating"), "rating", lo=1, hi=5), "product_id": _text(v.get("product_id")),
            "customer_id": _text(v.get("customer_id")), "created_at": parse_datetime(v.get("created_at"), "created_at")}


def _v_qna(v: dict[str, Any], cols: dict[str, str], money: _Money) -> dict[str, Any]:
    answer = _text(v.get("answer"))
    return {"id": _required_text(v, "question_id", 64), "text": _required_text(v, "text", 20_000),
            "product_id": _text(v.get("product_id")), "customer_id": _text(v.get("customer_id")),
            "asked_at": parse_datetime(v.get("asked_at"), "asked_at"), "answer": answer,
            "answered_at": parse_datetime(v.get("answered_at"), "answered_at"), "answered": answer is not None,
            "marketplace": _marketplace(v.get("marketplace"))}


def _v_settlements(v: dict[str, Any], cols: dict[str, str], money: _Money) -> dict[str, Any]:
    amount = money(_required_text(v, "amount"), "amount", allow_negative=True)
    sales = money(v.get("sales"), "sales", allow_negative=True)
    commission = money(v.get("commission"), "commission", allow_negative=True)
    assert amount is not None
    if sales is not None and commission is not None and sales - commission != amount:
        raise RowError(f"amount {amount} is not sales {sales} − commission {commission}")
    if sales is None:
        sales = amount + (commission or 0)
    if commission is None:
        commission = sales - amount
    return {"settled_on": parse_date(_required_text(v, "settled_on"), "settled_on"), "sales": sales,
            "commission": commission, "amount": amount}


_VALIDATORS: dict[str, Callable[[dict[str, Any], dict[str, str], _Money], dict[str, Any]]] = {
    "orders": _v_orders, "customers": _v_customers, "products": _v_products, "reviews": _v_reviews,
    "qna": _v_qna, "settlements": _v_settlements,
}


# --- writing -------------------------------------------------------------------------------------


def _chunks(seq: list[Any], n: int = 2000) -> Iterator[list[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def _existing(conn: Connection, column: Any, keys: list[Any]) -> set[Any]:
    found: set[Any] = set()
    for chunk in _chunks(sorted(set(keys)), 1000):
        found.update(conn.execute(select(column).where(column.in_(chunk))).scalars())
    return found


def _upsert(conn: Connection, model: type, rows: list[dict[str, Any]], keys: list[str],
            update: list[str] | None) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET update-columns (or DO NOTHING), in chunks."""
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    if conn.dialect.name == "postgresql":
        _pg_copy_upsert(conn, table, rows, keys, update)
        return
    for chunk in _chunks(rows, 5000):  # SQLite: executemany runs in C
        stmt = sqlite_insert(table)
        if update:
            stmt = stmt.on_conflict_do_update(index_elements=keys, set_={c: stmt.excluded[c] for c in update})
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=keys)
        conn.execute(stmt, chunk)


_tmp_counter = itertools.count()


def _pg_copy(conn: Connection, target: str, columns: list[str], rows: Iterator[tuple[Any, ...]]) -> None:
    raw = conn.connection.dbapi_connection
    quoted = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cur, cur.copy(f"COPY {target} ({quoted}) FROM STDIN") as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row(row)


def _pg_copy_upsert(conn: Connection, table: Any, rows: list[dict[str, Any]], keys: list[str],
                    update: list[str] | None) -> None:
    """PostgreSQL: COPY into a temporary table, then one INSERT … SELECT … ON CONFLICT (a round trip per row
    or huge VALUES statements are both far slower)."""
    cols = list(rows[0])
    defaults: dict[str, Any] = {}  # Python-side column defaults (created_at …) that COPY would not apply
    for c in table.columns:
        if c.name in cols or c.default is None:
            continue
        if c.default.is_callable:
            defaults[c.name] = c.default.arg(None)
        elif c.default.is_scalar:
            defaults[c.name] = c.default.arg
    json_cols = {c.name for c in table.columns if isinstance(c.type, JSON)}
    all_cols = cols + list(defaults)
    extra = tuple(json.dumps(v) if k in json_cols else v for k, v in defaults.items())
    tmp = f"_import_{table.name}_{next(_tmp_counter)}"
    quoted = ", ".join(f'"{c}"' for c in all_cols)
    conn.exec_driver_sql(f'CREATE TEMP TABLE {tmp} ON COMMIT DROP AS SELECT {quoted} FROM {table.name} WITH NO DATA')

    def tuples() -> Iterator[tuple[Any, ...]]:
        for r in rows:
            yield tuple(json.dumps(r[c], ensure_ascii=False) if c in json_cols and r[c] is not None else r[c]
                        for c in cols) + extra

    _pg_copy(conn, tmp, all_cols, tuples())
    conflict = ", ".join(f'"{k}"' for k in keys)
    action = ("DO UPDATE SET " + ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in update)) if update else "DO NOTHING"
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({quoted}) SELECT {quoted} FROM {tmp} "
                         f"ON CONFLICT ({conflict}) {action}")
    conn.exec_driver_sql(f"DROP TABLE {tmp}")


def _last_wins(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return list({r[key]: r for r in rows}.values())


_SIMPLE = {  # kind → (model, key column, key field of the file)
    "customers": (Customer, "id", "customer_id"), "products": (Product, "id", "product_id"),
    "reviews": (Review, "id", "review_id"), "qna": (ProductQna, "id", "question_id"),
    "settlements": (Settlement, "settled_on", "settled_on"),
}


def _write_simple(conn: Connection, kind: str, chunks: Iterator[list[dict[str, Any]]],
                  cols: dict[str, str], progress: Progress | None) -> dict[str, Any]:
    """Upsert chunk by chunk; a key repeated in a later chunk overwrites it (the last row wins)."""
    model, key, key_field = _SIMPLE[kind]
    present = {key if f == key_field else f for f in cols}
    if kind == "products" and "stock" in present:
        present.add("status")
    if kind == "qna" and "answer" in present:
        present.add("answered")
    if kind == "settlements":
        present |= {"sales", "commission"}
    seen: set[Any] = set()  # keys written by this import (a later chunk's repeat is not an update)
    rows_read = inserted = updated = 0
    now = datetime.now(UTC)
    for chunk in chunks:
        rows_read += len(chunk)
        rows = _last_wins(chunk, key)
        for r in rows:  # columns absent from the file keep their stored values (or get the model default)
            for c in list(r):
                if c not in present and c != key:
                    del r[c]
            for c in ("created_at", "asked_at"):  # NOT NULL: an empty cell means "now"
                if c in r and r[c] is None:
                    r[c] = now
        uniform = set.intersection(*(set(r) for r in rows))
        if kind in ("reviews", "qna"):
            _check_refs(conn, rows)
        fresh = [r[key] for r in rows if r[key] not in seen]
        existing = _existing(conn, getattr(model, key), fresh)
        inserted += len(fresh) - len(existing)
        updated += len(existing)
        seen.update(fresh)
        update = [c for c in uniform if c != key]
        if kind == "qna":
            # a blank answer cell means "not answered there yet": it never clears an answer given here
            unanswered = [r for r in rows if r.get("answer") is None]
            _upsert(conn, model, [r for r in rows if r.get("answer") is not None], [key], update)
            _upsert(conn, model, unanswered, [key], [c for c in update if c not in ("answer", "answered", "answered_at")])
        else:
            _upsert(conn, model, rows, [key], update)
        _report_written(progress, rows_read - len(chunk), rows_read)
    return {"rows": rows_read, "inserted": inserted, "updated": updated}


def _check_refs(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Reviews and questions may name customers (created when missing) and products (must exist)."""
    pids = {r["product_id"] for r in rows if r.get("product_id")}
    missing = pids - _existing(conn, Product.id, list(pids))
    if missing:
        sample = ", ".join(sorted(missing)[:5])
        raise DataError(f"unknown product_id {sample}{' …' if len(missing) > 5 else ''}: import products first "
                        "— nothing was imported")
    cids = {r["customer_id"] for r in rows if r.get("customer_id")}
    new = cids - _existing(conn, Customer.id, list(cids))
    _upsert(conn, Customer, [{"id": c} for c in sorted(new)], ["id"], None)


def _report_written(progress: Progress | None, before: int, after: int) -> None:
    """A progress line each time the rows written pass a multiple of PROGRESS_EVERY."""
    if progress and after // PROGRESS_EVERY > before // PROGRESS_EVERY:
        progress(f"written {after:,} rows")


class _OrderWriter:
    """Writes order lines chunk by chunk inside the import's transaction.

    An order's lines may be spread over chunks, so each order's running totals (amount, earliest time) stay
    in memory — one small entry per order, not per line — and every chunk upserts the orders it touched with
    their totals so far; the last write of an order carries its whole amount. An order's stored lines are
    deleted once, when the file's first line of that order is written."""

    def __init__(self, conn: Connection, cols: dict[str, str]) -> None:
        self.conn, self.cols = conn, cols
        self.orders: dict[str, list[Any]] = {}  # id → [customer_id, ordered_at, amount, status]
        self.customers: set[str] = set()  # known to exist now
        self.products: set[str] = set()
        self.cleared: set[str] = set()  # orders whose stored lines were replaced
        self.claims: set[str] = set()
        self.counts = dict.fromkeys(("rows", "orders_updated", "order_items", "customers_created",
                                     "products_created", "claims_inserted"), 0)

    def write(self, rows: list[dict[str, Any]]) -> None:
        touched: dict[str, list[Any]] = {}
        items: dict[str, list[dict[str, Any]]] = {}
        claims: dict[str, dict[str, Any]] = {}
        customers: dict[str, str | None] = {}
        products: dict[str, dict[str, Any]] = {}
        first_seen: list[str] = []
        for r in rows:
            oid = r["order_id"]
            status, implied_claim = r["status"] or ("delivered", None)
            o = self.orders.get(oid)
            if o is None:
                o = self.orders[oid] = [r["customer_id"], r["ordered_at"], Decimal(0), status]
                first_seen.append(oid)
            elif o[0] != r["customer_id"]:
                raise DataError(f"order {oid}: rows name different customers ({o[0]}, {r['customer_id']})"
                                " — nothing was imported")
            o[2] += r["amount"]
            o[1] = min(o[1], r["ordered_at"])
            touched[oid] = o
            if r["customer_name"] or r["customer_id"] not in customers:
                customers[r["customer_id"]] = r["customer_name"] or customers.get(r["customer_id"])
            if r["product_id"] or r["product_name"]:
                qty = r["quantity"] or 1
                name = r["product_name"] or r["product_id"]
                unit = (r["amount"] / qty).quantize(Decimal("0.01"))
                items.setdefault(oid, []).append({"order_id": oid, "product_id": r["product_id"],
                                                  "product_name": name, "quantity": qty, "unit_price": unit,
                                                  "amount": r["amount"]})
                if r["product_id"] and r["product_id"] not in products:
                    products[r["product_id"]] = {"id": r["product_id"], "name": name, "price": unit}
            ctype = r["claim_type"] or implied_claim
            if ctype:
                done = status in ("cancelled", "returned", "exchanged") and not implied_claim
                claims[f"{oid}-{ctype}"] = {
                    "id": f"{oid}-{ctype}", "order_id": oid, "customer_id": r["customer_id"],
                    "product_id": r["product_id"], "type": ctype, "status": "completed" if done else "requested",
                    "reason": r["claim_reason"], "created_at": r["ordered_at"]}
        conn = self.conn
        self.counts["rows"] += len(rows)

        unknown = [c for c in customers if c not in self.customers]
        existing = _existing(conn, Customer.id, unknown)
        new_customers = [{"id": c, "name": customers[c]} for c in unknown if c not in existing]
        _upsert(conn, Customer, new_customers, ["id"], None)
        self.counts["customers_created"] += len(new_customers)
        if "customer_name" in self.cols:
            created = {c["id"] for c in new_customers}
            named = [{"id": c, "name": n} for c, n in customers.items() if n and c not in created]
            _upsert(conn, Customer, named, ["id"], ["name"])
        self.customers.update(unknown)
        unknown_products = [p for p in products if p not in self.products]
        existing = _existing(conn, Product.id, unknown_products)
        new_products = [products[p] for p in unknown_products if p not in existing]
        _upsert(conn, Product, new_products, ["id"], None)
        self.counts["products_created"] += len(new_products)
        self.products.update(unknown_products)

        self.counts["orders_updated"] += len(_existing(conn, Order.id, first_seen))
        order_rows = [{"id": oid, "customer_id": o[0], "ordered_at": o[1], "amount": o[2], "status": o[3]}
                      for oid, o in touched.items()]
        # without a status column, re-imports keep the stored status (new orders are `delivered`)
        _upsert(conn, Order, order_rows, ["id"],
                ["customer_id", "ordered_at", "amount"] + (["status"] if "status" in self.cols else []))
        # the file's lines replace the stored lines of the orders it contains
        to_clear = [oid for oid in items if oid not in self.cleared]
        for part in _chunks(to_clear, 1000):
            conn.execute(delete(OrderItem).where(OrderItem.order_id.in_(part)))
        self.cleared.update(to_clear)
        item_rows = [it for lines in items.values() for it in lines]
        if conn.dialect.name == "postgresql" and item_rows:
            item_cols = list(item_rows[0])
            _pg_copy(conn, "order_items", item_cols, (tuple(it[c] for c in item_cols) for it in item_rows))
        else:
            for part in _chunks(item_rows, 5000):
                conn.execute(insert(OrderItem), part)
        self.counts["order_items"] += len(item_rows)
        fresh_claims = [c for c in claims if c not in self.claims]
        self.counts["claims_inserted"] += len(fresh_claims) - len(_existing(conn, Claim.id, fresh_claims))
        self.claims.update(claims)
        _upsert(conn, Claim, list(claims.values()), ["id"], ["status", "reason", "product_id"])

    def result(self) -> dict[str, Any]:
        c = self.counts
        return {"rows": c["rows"], "orders": len(self.orders), "orders_inserted": len(self.orders) - c["orders_updated"],
                "orders_updated": c["orders_updated"], "order_items": c["order_items"],
                "customers_created": c["customers_created"], "products_created": c["products_created"],
                "claims": len(self.claims), "claims_inserted": c["claims_inserted"]}


def _write_orders(conn: Connection, chunks: Iterator[list[dict[str, Any]]], cols: dict[str, str],
                  progress: Progress | None) -> dict[str, Any]:
    writer = _OrderWriter(conn, cols)
    for chunk in chunks:
        writer.write(chunk)
        _report_written(progress, writer.counts["rows"] - len(chunk), writer.counts["rows"])
    return writer.result()


# One import at a time on PostgreSQL. Imports upsert many rows in the file's order: every order and line
# updates the daily rollup rows of its day (migration 0004's triggers), and orders, reviews and Q&A create
# or rename customers; two imports over the same days or customers lock those rows in different orders and
# PostgreSQL aborts one with a deadlock. SQLite has one writer anyway. (Key: "SAJANG" in ASCII.)
_ONE_IMPORT_AT_A_TIME = select(func.pg_advisory_xact_lock(0x53414A414E47))


def import_file(engine: Engine, kind: str, path: str | Path, mapping: dict[str, str] | list[str] | None = None,
                preset: str | None = None, progress: Progress | None = None, *, sheet: str | None = None,
                password: str | None = None, currency: str | None = None) -> dict[str, Any]:
    """Read, validate and upsert the file in chunks inside one transaction: any error rolls it all back.

    `sheet`/`password` pick and open a workbook's sheet; `currency` (KRW, USD …) limits amounts to its
    decimals (default: the store's two places). Returns counts; raises DataError."""
    if kind not in FIELDS:
        raise DataError(f"unknown kind {kind!r} (kinds: {', '.join(KINDS)})")
    if preset is not None and kind not in ("orders", "qna"):
        raise DataError(f"--preset applies to orders exports and product questions, not {kind}")
    money = _Money()
    if currency is not None:
        code = currency.strip().upper()
        if code not in CURRENCY_PLACES:
            raise DataError(f"unknown currency {currency!r} (currencies: {', '.join(CURRENCY_PLACES)})")
        money = _Money(CURRENCY_PLACES[code], code)
    path = Path(path)
    plan = read_rows(path, kind, parse_mapping(mapping, kind), preset, progress, sheet=sheet, password=password)
    with plan.table, engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(_ONE_IMPORT_AT_A_TIME)  # released when this transaction ends
        chunks = _validated_chunks(plan, money, progress)
        if kind == "orders":
            result = _write_orders(conn, chunks, plan.columns, progress)
        else:
            result = _write_simple(conn, kind, chunks, plan.columns, progress)
    out = {"kind": kind, "file": str(path), **result}
    if plan.table.sheet:
        out["sheet"] = plan.table.sheet
    return out
