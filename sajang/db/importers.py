"""Import a shop's own data from CSV / JSON / JSONL into the store.

`import_file(engine, kind, path, mapping, preset)` reads every row, validates all of them first and
writes nothing unless the whole file is valid; then it upserts by the natural key in ONE transaction
(`INSERT … ON CONFLICT DO UPDATE` on SQLite and PostgreSQL), so importing the same file twice changes
nothing. Errors name the physical line of the file (`line 7: amount '12,3x' is not a number`); for a
JSON array the line where the element starts (and its index).

Field rules (DESIGN.md "Import fields"):
- a column named like the canonical field needs no mapping; `--map FIELD=COLUMN` maps any other;
  `--preset smartstore|cafe24` maps the Korean columns of those order exports (see PRESETS);
- dates: ISO 8601 (`2011-12-09`, `2011-12-09T14:30:00+09:00`, also `2011.12.09 14:30`); a date without
  an offset is shop time (Asia/Seoul) and is stored in UTC;
- money: exact decimals; `12,300`, `12300원`, `₩12,300` are accepted, floats never are produced;
- `--map order_id=customer_id+date` synthesises a key from several columns (joined with `-`);
- columns present in the file are written (an empty cell writes NULL); columns absent are left alone.

`orders` rows are order lines: rows sharing an `order_id` form one order whose amount is the sum of
their `amount`s; a row with `product_id`/`product_name` becomes an order item (products and customers
that do not exist yet are created); `claim_type` (+ `claim_reason`) creates the order's claim.
Without a `status` column imported orders are `delivered` (history exports are of finished orders).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Connection, Engine, delete, func, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .errors import DataError
from .models import Claim, Customer, Order, OrderItem, Product, ProductQna, Review, Settlement

SHOP_TZ = ZoneInfo("Asia/Seoul")
MAX_BYTES = 1024 * 1024 * 1024  # 1 GiB: bigger exports should be split
PROGRESS_EVERY = 50_000
MAX_REPORTED_ERRORS = 5
Progress = Callable[[str], None]

FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "orders": (("order_id", "customer_id", "ordered_at", "amount"),
               ("status", "product_id", "product_name", "quantity", "customer_name", "claim_type", "claim_reason")),
    "customers": (("customer_id",), ("name", "phone", "email", "joined_at")),
    "products": (("product_id", "name"), ("category", "price", "cost", "stock", "safety_stock", "status")),
    "reviews": (("review_id", "text"), ("rating", "product_id", "customer_id", "created_at")),
    "qna": (("question_id", "text"), ("product_id", "customer_id", "asked_at", "answer", "answered_at")),
    "settlements": (("settled_on", "amount"), ("sales", "commission")),
}
KINDS = (*FIELDS, "manual")

# Korean column names of the marketplaces' order exports, per canonical field (first match wins).
PRESETS: dict[str, dict[str, list[str]]] = {
    # Naver SmartStore 판매자센터 › 주문통합검색 › 엑셀 다운로드 (one row per 상품주문번호)
    "smartstore": {
        "order_id": ["주문번호"],
        "customer_id": ["구매자ID", "구매자 ID", "구매자아이디"],
        "customer_name": ["구매자명"],
        "ordered_at": ["결제일", "주문일시"],
        "amount": ["최종 상품별 총 주문금액", "상품별 총 주문금액", "총 주문금액"],
        "status": ["주문상태", "주문 상태"],
        "product_id": ["상품번호"],
        "product_name": ["상품명"],
        "quantity": ["수량"],
        "claim_type": ["클레임상태", "클레임 상태"],
        "claim_reason": ["클레임사유", "클레임 사유", "취소사유", "반품사유", "교환사유"],
    },
    # Cafe24 쇼핑몰 관리자 › 주문 › 주문 엑셀 다운로드 (기본 양식, one row per 품목별 주문번호)
    "cafe24": {
        "order_id": ["주문번호"],
        "customer_id": ["주문자ID", "주문자 아이디", "주문자아이디", "회원아이디"],
        "customer_name": ["주문자명", "주문자 이름"],
        "ordered_at": ["주문일시", "결제일시(입금확인일)", "결제일시"],
        "amount": ["상품구매금액", "상품별 결제금액", "총 결제금액"],
        "status": ["주문 상태", "주문상태", "처리상태"],
        "product_id": ["상품번호", "상품코드"],
        "product_name": ["상품명(한국어 쇼핑몰)", "상품명"],
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
    rows: list[_Row] = field(default_factory=list)


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


def _read_text(path: Path) -> str:
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a file")
    size = path.stat().st_size
    if size == 0:
        raise DataError(f"{path}: file is empty")
    if size > MAX_BYTES:
        raise DataError(f"{path}: file is {size / 1e6:,.0f} MB, above the {MAX_BYTES // 2**20:,} MiB import limit; "
                        "split it into smaller files")
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise DataError(f"{path}: not a text file (binary content); export CSV, JSON or JSONL")
    for encoding in ("utf-8-sig", "cp949"):  # Korean Excel exports are often CP949 (EUC-KR)
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise DataError(f"{path}: not UTF-8 or CP949 text")
    if not text.strip():
        raise DataError(f"{path}: file is empty")
    return text


def _detect_format(path: Path, text: str) -> str:
    ext = path.suffix.lower()
    if ext in (".jsonl", ".ndjson"):
        return "jsonl"
    if ext == ".json":
        return "json"
    if ext in (".csv", ".tsv", ".txt"):
        return "csv"
    head = text.lstrip()[:1]
    if head == "[":
        return "json"
    if head == "{":
        first = text.lstrip().split("\n", 1)[0]
        try:
            json.loads(first)
            return "jsonl"
        except ValueError:
            return "json"
    return "csv"


def _iter_csv(text: str) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration as exc:
        raise DataError("file has no header line") from exc
    if not any(header):
        raise DataError("line 1: empty header")
    dupes = {h for h in header if h and header.count(h) > 1}
    if dupes:
        raise DataError(f"line 1: duplicate column(s) {', '.join(sorted(dupes))}")

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        prev = reader.line_num
        for record in reader:
            start = prev + 1
            prev = reader.line_num
            if not any(cell.strip() for cell in record):
                continue  # blank line
            if len(record) > len(header):
                raise DataError(f"line {start}: {len(record)} cells but the header has {len(header)} columns")
            yield start, {h: (record[i] if i < len(record) else "") for i, h in enumerate(header)}

    return header, rows()


def _iter_json(text: str) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """Elements of a JSON array (or of the one list inside a top-level object) with their start line."""
    decoder = json.JSONDecoder(parse_float=Decimal)
    idx = len(text) - len(text.lstrip())
    if text[idx:idx + 1] == "{":
        try:
            obj = decoder.decode(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"line {exc.lineno}: invalid JSON ({exc.msg})") from exc
        lists = [v for v in obj.values() if isinstance(v, list)] if isinstance(obj, dict) else []
        if len(lists) != 1:
            raise DataError("JSON must be an array of objects (or an object holding one such array)")
        for i, item in enumerate(lists[0]):
            if not isinstance(item, dict):
                raise DataError(f"item {i + 1}: not a JSON object")
            yield 0, f"item {i + 1}", item
        return
    if text[idx:idx + 1] != "[":
        raise DataError("JSON must be an array of objects")
    pos, line, counted = idx + 1, 1, 0
    n = 0
    ws = re.compile(r"[\s,]*")
    while True:
        pos = ws.match(text, pos).end()  # type: ignore[union-attr]
        if pos >= len(text):
            raise DataError("invalid JSON: the array is not closed by ]")
        if text[pos] == "]":
            if text[pos + 1:].strip():
                raise DataError(f"line {line + text.count(chr(10), counted, pos)}: unexpected text after the JSON array")
            return
        line += text.count("\n", counted, pos)
        counted = pos
        n += 1
        try:
            item, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise DataError(f"line {exc.lineno} (item {n}): invalid JSON ({exc.msg})") from exc
        if not isinstance(item, dict):
            raise DataError(f"line {line} (item {n}): not a JSON object")
        yield line, f"line {line} (item {n})", item
        pos = end


def _iter_jsonl(text: str) -> Iterator[tuple[int, str, dict[str, Any]]]:
    for i, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise DataError(f"line {i}: invalid JSON ({exc.msg})") from exc
        if not isinstance(item, dict):
            raise DataError(f"line {i}: not a JSON object")
        yield i, f"line {i}", item


def read_rows(path: Path, kind: str, mapping: dict[str, str], preset: str | None = None,
              progress: Progress | None = None) -> ImportPlan:
    """Parse the file and map its columns onto the canonical fields (no validation of values yet)."""
    text = _read_text(path)
    fmt = _detect_format(path, text)
    required, optional = FIELDS[kind]
    if preset is not None and preset not in PRESETS:
        raise DataError(f"unknown preset {preset!r} (presets: {', '.join(PRESETS)})")
    records: list[tuple[int, str, dict[str, Any]]] = []
    if fmt == "csv":
        header, it = _iter_csv(text)
        columns = list(header)
        for line, rec in it:
            records.append((line, f"line {line}", rec))
            if progress and len(records) % PROGRESS_EVERY == 0:
                progress(f"read {len(records):,} rows")
    else:
        seen: dict[str, None] = {}
        for line, label, rec in (_iter_json(text) if fmt == "json" else _iter_jsonl(text)):
            records.append((line, label, rec))
            for k in rec:
                seen.setdefault(k, None)
            if progress and len(records) % PROGRESS_EVERY == 0:
                progress(f"read {len(records):,} rows")
        columns = list(seen)
    if not records:
        raise DataError(f"{path}: no data rows")

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
        hint = f" or --preset {preset}" if preset else " (or --preset smartstore|cafe24)" if kind == "orders" else ""
        raise DataError(f"missing required field(s) {', '.join(missing)}: the file's columns are "
                        f"{', '.join(columns)}; use --map FIELD=COLUMN{hint}")
    plan = ImportPlan(kind, resolved)
    composite = {f: c.split("+") for f, c in resolved.items() if c not in columns}
    for line, label, rec in records:
        values = {f: rec.get(c) for f, c in resolved.items()}
        for f, parts in composite.items():  # a synthesised key such as customer_id+date → "12-1997-01-12"
            cells = [_text(rec.get(p)) for p in parts]
            values[f] = None if any(c is None for c in cells) else "-".join(cells)  # type: ignore[arg-type]
        plan.rows.append(_Row(line, values, label))
    return plan


# --- values --------------------------------------------------------------------------------------

_MONEY_JUNK = re.compile(r"[,\s원₩]|KRW", re.IGNORECASE)


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _text(v: Any) -> str | None:
    if _blank(v):
        return None
    if isinstance(v, Decimal):
        v = format(v, "f")
    return str(v).strip()


def parse_money(v: Any, name: str, *, allow_negative: bool = False) -> Decimal | None:
    if _blank(v):
        return None
    if isinstance(v, bool):
        raise RowError(f"{name} {v!r} is not an amount")
    if isinstance(v, int | Decimal):
        d = Decimal(v)
    elif isinstance(v, float):  # only from callers outside the JSON path; keep exactness via str
        d = Decimal(str(v))
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
    if d != d.quantize(Decimal("0.01")):
        raise RowError(f"{name} {v!r} has more than 2 decimal places")
    return d


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


def _validate(plan: ImportPlan, progress: Progress | None) -> list[dict[str, Any]]:
    validator = _VALIDATORS[plan.kind]
    out, errors = [], []
    for n, row in enumerate(plan.rows, start=1):
        try:
            out.append(validator(row.values, plan.columns))
        except RowError as exc:
            errors.append(f"{row.label}: {exc}")
            if len(errors) > MAX_REPORTED_ERRORS:
                break
        if progress and n % PROGRESS_EVERY == 0:
            progress(f"checked {n:,} rows")
    if errors:
        more = f" (and more; first {MAX_REPORTED_ERRORS} shown)" if len(errors) > MAX_REPORTED_ERRORS else ""
        raise DataError("; ".join(errors[:MAX_REPORTED_ERRORS]) + more + " — nothing was imported")
    return out


def _v_orders(v: dict[str, Any], cols: dict[str, str]) -> dict[str, Any]:
    status = _status(v.get("status")) if "status" in cols else None
    qty = parse_int(v.get("quantity"), "quantity", lo=1) if "quantity" in cols else None
    claim = _claim_type(v.get("claim_type")) if "claim_type" in cols else None
    return {
        "order_id": _required_text(v, "order_id", 64),
        "customer_id": _required_text(v, "customer_id", 64),
        "ordered_at": parse_datetime(_required_text(v, "ordered_at"), "ordered_at"),
        "amount": parse_money(_required_text(v, "amount"), "amount"),
        "status": status,
        "product_id": _text(v.get("product_id")),
        "product_name": _text(v.get("product_name")),
        "quantity": qty,
        "customer_name": _text(v.get("customer_name")),
        "claim_type": claim,
        "claim_reason": _text(v.get("claim_reason")),
    }


def _v_customers(v: dict[str, Any], cols: dict[str, str]) -> dict[str, Any]:
    return {"id": _required_text(v, "customer_id", 64), "name": _text(v.get("name")), "phone": _text(v.get("phone")),
            "email": _text(v.get("email")), "joined_at": parse_datetime(v.get("joined_at"), "joined_at")}


def _v_products(v: dict[str, Any], cols: dict[str, str]) -> dict[str, Any]:
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
            "category": _text(v.get("category")), "price": parse_money(v.get("price"), "price"),
            "cost": parse_money(v.get("cost"), "cost"), "stock": stock if stock is not None else 0,
            "safety_stock": parse_int(v.get("safety_stock"), "safety_stock") or 0, "status": status or "on_sale"}


def _v_reviews(v: dict[str, Any], cols: dict[str, str]) -> dict[str, Any]:
    return {"id": _required_text(v, "review_id", 64), "text": _required_text(v, "text", 20_000),
            "rating": parse_int(v.get("rating"), "rating", lo=1, hi=5), "product_id": _text(v.get("product_id")),
            "customer_id": _text(v.get("customer_id")), "created_at": parse_datetime(v.get("created_at"), "created_at")}


def _v_qna(v: dict[str, Any], cols: dict[str, str]) -> dict[str, Any]:
    answer = _text(v.get("answer"))
    return {"id": _required_text(v, "question_id", 64), "text": _required_text(v, "text", 20_000),
            "product_id": _text(v.get("product_id")), "customer_id": _text(v.get("customer_id")),
            "asked_at": parse_datetime(v.get("asked_at"), "asked_at"), "answer": answer,
            "answered_at": parse_datetime(v.get("answered_at"), "answered_at"), "answered": answer is not None}


def _v_settlements(v: dict[str, Any], cols: dict[str, str]) -> dict[str, Any]:
    amount = parse_money(_required_text(v, "amount"), "amount", allow_negative=True)
    sales = parse_money(v.get("sales"), "sales", allow_negative=True)
    commission = parse_money(v.get("commission"), "commission", allow_negative=True)
    assert amount is not None
    if sales is not None and commission is not None and sales - commission != amount:
        raise RowError(f"amount {amount} is not sales {sales} − commission {commission}")
    if sales is None:
        sales = amount + (commission or 0)
    if commission is None:
        commission = sales - amount
    return {"settled_on": parse_date(_required_text(v, "settled_on"), "settled_on"), "sales": sales,
            "commission": commission, "amount": amount}


_VALIDATORS: dict[str, Callable[[dict[str, Any], dict[str, str]], dict[str, Any]]] = {
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


def _write_simple(conn: Connection, kind: str, rows: list[dict[str, Any]], cols: dict[str, str]) -> dict[str, Any]:
    model, key = {"customers": (Customer, "id"), "products": (Product, "id"), "reviews": (Review, "id"),
                  "qna": (ProductQna, "id"), "settlements": (Settlement, "settled_on")}[kind]
    key_field = {"customers": "customer_id", "products": "product_id", "reviews": "review_id",
                 "qna": "question_id", "settlements": "settled_on"}[kind]
    present = {key if f == key_field else f for f in cols}
    if kind == "products" and "stock" in present:
        present.add("status")
    if kind == "qna" and "answer" in present:
        present.add("answered")
    if kind == "settlements":
        present |= {"sales", "commission"}
    rows = _last_wins(rows, key)
    now = datetime.now(UTC)
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
    existing = _existing(conn, getattr(model, key), [r[key] for r in rows])
    update = [c for c in uniform if c != key]
    _upsert(conn, model, rows, [key], update)
    return {"rows": len(rows), "inserted": len(rows) - len(existing & {r[key] for r in rows}),
            "updated": len(existing & {r[key] for r in rows})}


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


def _write_orders(conn: Connection, rows: list[dict[str, Any]], cols: dict[str, str]) -> dict[str, Any]:
    orders: dict[str, dict[str, Any]] = {}
    items: dict[str, list[dict[str, Any]]] = {}
    claims: dict[str, dict[str, Any]] = {}
    customers: dict[str, str | None] = {}
    products: dict[str, dict[str, Any]] = {}
    for r in rows:
        oid = r["order_id"]
        status, implied_claim = r["status"] or ("delivered", None)
        o = orders.get(oid)
        if o is None:
            o = orders[oid] = {"id": oid, "customer_id": r["customer_id"], "ordered_at": r["ordered_at"],
                               "amount": Decimal(0), "status": status}
        elif o["customer_id"] != r["customer_id"]:
            raise DataError(f"order {oid}: rows name different customers ({o['customer_id']}, {r['customer_id']})"
                            " — nothing was imported")
        o["amount"] += r["amount"]
        o["ordered_at"] = min(o["ordered_at"], r["ordered_at"])
        if r["customer_name"] or r["customer_id"] not in customers:
            customers[r["customer_id"]] = r["customer_name"] or customers.get(r["customer_id"])
        if r["product_id"] or r["product_name"]:
            qty = r["quantity"] or 1
            name = r["product_name"] or r["product_id"]
            unit = (r["amount"] / qty).quantize(Decimal("0.01"))
            items.setdefault(oid, []).append({"order_id": oid, "product_id": r["product_id"], "product_name": name,
                                              "quantity": qty, "unit_price": unit, "amount": r["amount"]})
            if r["product_id"] and r["product_id"] not in products:
                products[r["product_id"]] = {"id": r["product_id"], "name": name, "price": unit}
        ctype = r["claim_type"] or implied_claim
        if ctype:
            done = status in ("cancelled", "returned", "exchanged") and not implied_claim
            claims[f"{oid}-{ctype}"] = {
                "id": f"{oid}-{ctype}", "order_id": oid, "customer_id": r["customer_id"],
                "product_id": r["product_id"], "type": ctype, "status": "completed" if done else "requested",
                "reason": r["claim_reason"], "created_at": r["ordered_at"]}

    existing_customers = _existing(conn, Customer.id, list(customers))
    new_customers = [{"id": c, "name": n} for c, n in customers.items() if c not in existing_customers]
    _upsert(conn, Customer, new_customers, ["id"], None)
    named = [{"id": c, "name": n} for c, n in customers.items() if c in existing_customers and n]
    if "customer_name" in cols:
        _upsert(conn, Customer, named, ["id"], ["name"])
    existing_products = _existing(conn, Product.id, list(products))
    new_products = [p for pid, p in products.items() if pid not in existing_products]
    _upsert(conn, Product, new_products, ["id"], None)

    order_rows = list(orders.values())
    existing_orders = _existing(conn, Order.id, list(orders))
    # without a status column, re-imports keep the stored status (new orders are `delivered`)
    _upsert(conn, Order, order_rows, ["id"], ["customer_id", "ordered_at", "amount"] + (["status"] if "status" in cols else []))
    # the file's lines replace the stored lines of the orders it contains
    with_items = [oid for oid in orders if oid in items]
    for chunk in _chunks(with_items, 1000):
        conn.execute(delete(OrderItem).where(OrderItem.order_id.in_(chunk)))
    item_rows = [it for oid in with_items for it in items[oid]]
    if conn.dialect.name == "postgresql" and item_rows:
        item_cols = list(item_rows[0])
        _pg_copy(conn, "order_items", item_cols, (tuple(it[c] for c in item_cols) for it in item_rows))
    else:
        for chunk in _chunks(item_rows, 5000):
            conn.execute(insert(OrderItem), chunk)
    existing_claims = _existing(conn, Claim.id, list(claims))
    _upsert(conn, Claim, list(claims.values()), ["id"], ["status", "reason", "product_id"])
    return {"rows": len(rows), "orders": len(orders), "orders_inserted": len(orders) - len(existing_orders),
            "orders_updated": len(existing_orders), "order_items": len(item_rows),
            "customers_created": len(new_customers), "products_created": len(new_products),
            "claims": len(claims), "claims_inserted": len(claims) - len(existing_claims)}


# One import at a time on PostgreSQL. Imports upsert many rows in the file's order: every order and line
# updates the daily rollup rows of its day (migration 0004's triggers), and orders, reviews and Q&A create
# or rename customers; two imports over the same days or customers lock those rows in different orders and
# PostgreSQL aborts one with a deadlock. SQLite has one writer anyway. (Key: "SAJANG" in ASCII.)
_ONE_IMPORT_AT_A_TIME = select(func.pg_advisory_xact_lock(0x53414A414E47))


def import_file(engine: Engine, kind: str, path: str | Path, mapping: dict[str, str] | list[str] | None = None,
                preset: str | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """Validate the whole file, then upsert it in one transaction. Returns counts; raises DataError."""
    if kind not in FIELDS:
        raise DataError(f"unknown kind {kind!r} (kinds: {', '.join(KINDS)})")
    if preset is not None and kind != "orders":
        raise DataError(f"--preset applies to orders exports, not {kind}")
    path = Path(path)
    plan = read_rows(path, kind, parse_mapping(mapping, kind), preset, progress)
    rows = _validate(plan, progress)
    if progress and len(rows) >= PROGRESS_EVERY:
        progress(f"writing {len(rows):,} rows")
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(_ONE_IMPORT_AT_A_TIME)  # released when this transaction ends
        if kind == "orders":
            result = _write_orders(conn, rows, plan.columns)
        else:
            result = _write_simple(conn, kind, rows, plan.columns)
    return {"kind": kind, "file": str(path), **result}
