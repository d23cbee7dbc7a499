"""The files sellers really have: .xlsx (plain, password-protected, several sheets, a title row above the
header), CSV in UTF-8 / UTF-8-BOM / UTF-16 / CP949, amounts written as binary floats, marketplace presets on
real header rows, files cut off mid-row, and imports big enough to span several chunks — on the real
database, each bad file leaving zero rows behind."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from msoffcrypto.format.ooxml import OOXMLFile
from sqlalchemy import Engine, func, select

from sajang.db import importers
from sajang.db.engine import session_scope
from sajang.db.errors import DataError
from sajang.db.importers import RowError, import_file, parse_money
from sajang.db.models import Customer, Order, OrderItem, Product, SalesDaily
from tests.conftest import shared_data

FIXTURES = Path(__file__).parent / "fixtures" / "imports"
PASSWORD = "장터-2026!"

# the header row of SmartStore's order download (발주발송관리 sheet) as public parsers of it list it
SMARTSTORE_HEADER = ["상품주문번호", "주문번호", "배송속성", "배송방법(구매자 요청)", "배송방법", "택배사", "송장번호", "발송일",
                     "판매채널", "구매자명", "구매자ID", "수취인명", "주문상태", "주문세부상태", "결제위치", "결제일", "상품번호",
                     "상품명", "상품종류", "옵션정보", "옵션관리코드", "수량", "옵션가격", "상품가격", "최종 상품별 할인액",
                     "최종 상품별 총 주문금액"]


def _count(engine: Engine, model: type) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _smartstore_row(**values: Any) -> list[Any]:
    row = dict.fromkeys(SMARTSTORE_HEADER)
    row.update({"판매채널": "스마트스토어", "결제위치": "MOBILE", "상품종류": "단일상품", "배송방법": "택배,등기,소포", **values})
    return [row[h] for h in SMARTSTORE_HEADER]


def _workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def _encrypt(plain: Path, out: Path, password: str) -> Path:
    with plain.open("rb") as src, out.open("wb") as dst:
        OOXMLFile(src).encrypt(password, dst)
    return out


def _smartstore_sheet() -> list[list[Any]]:
    """A title row, the header on row 2, then order lines typed the way Excel stores them: order numbers
    as numbers, the payment time as a date cell, amounts as binary floats (25800.000000000004)."""
    return [
        ["발주발송관리"],
        SMARTSTORE_HEADER,
        _smartstore_row(상품주문번호=2026110112345601, 주문번호=2026110112345, 구매자명="정다섯", 구매자ID="naver_jung",
                        주문상태="배송완료", 결제일=datetime(2026, 11, 1, 9, 12, 33), 상품번호=8812, 상품명="순살 갈비탕",
                        수량=2, **{"최종 상품별 총 주문금액": 25800.000000000004}),
        [],  # a blank row between lines is skipped
        _smartstore_row(상품주문번호=2026110112345602, 주문번호=2026110112345, 구매자명="정다섯", 구매자ID="naver_jung",
                        주문상태="구매확정", 결제일=datetime(2026, 11, 1, 9, 12, 33), 상품번호=8813, 상품명="왕만두",
                        수량=1, **{"최종 상품별 총 주문금액": 10900}),
        _smartstore_row(상품주문번호=2026110254321001, 주문번호=2026110254321, 구매자명="한여섯", 구매자ID="naver_han",
                        주문상태="반품요청", 결제일=datetime(2026, 11, 2, 21, 0), 상품번호=8812, 상품명="순살 갈비탕",
                        수량=1, **{"최종 상품별 총 주문금액": 12899.999999999998}),
    ]


def test_xlsx_smartstore_download_with_title_row_and_typed_cells(engine: Engine, tmp_path: Path) -> None:
    path = _workbook(tmp_path / "스마트스토어_선택주문조회.xlsx", {"발주발송관리": _smartstore_sheet()})
    result = import_file(engine, "orders", path, preset="smartstore")
    assert result["sheet"] == "발주발송관리"
    assert result["rows"] == 3 and result["orders"] == 2 and result["order_items"] == 3 and result["claims"] == 1
    with session_scope(engine) as s:
        order = s.get(Order, "2026110112345")  # a number cell, not "2026110112345.0"
        assert order is not None and order.customer_id == "naver_jung" and order.amount == Decimal("36700")
        assert order.ordered_at == datetime(2026, 11, 1, 0, 12, 33, tzinfo=UTC)  # a date cell in shop time
        returned = s.get(Order, "2026110254321")
        assert returned is not None and returned.amount == Decimal("12900")
        assert s.get(Product, "8812") is not None
        assert s.get(Customer, "naver_han").name == "한여섯"  # type: ignore[union-attr]
    again = import_file(engine, "orders", path, preset="smartstore")
    assert again["orders_inserted"] == 0 and _count(engine, OrderItem) == 3


def test_encrypted_xlsx_needs_its_password(engine: Engine, tmp_path: Path) -> None:
    plain = _workbook(tmp_path / "plain.xlsx", {"발주발송관리": _smartstore_sheet()})
    locked = _encrypt(plain, tmp_path / "스마트스토어_주문.xlsx", PASSWORD)
    assert locked.read_bytes()[:4] == b"\xd0\xcf\x11\xe0"  # an OLE container, not a zip: really encrypted
    with pytest.raises(DataError, match="password-protected; give its password with --password"):
        import_file(engine, "orders", locked, preset="smartstore")
    with pytest.raises(DataError, match="wrong password"):
        import_file(engine, "orders", locked, preset="smartstore", password="1234")
    assert _count(engine, Order) == 0
    result = import_file(engine, "orders", locked, preset="smartstore", password=PASSWORD)
    assert result["orders"] == 2
    with pytest.raises(DataError, match=r"passwords are for encrypted \.xlsx"):
        import_file(engine, "customers", _write(tmp_path, "c.csv", "customer_id\nc1\n"), password=PASSWORD)


def test_first_sheet_or_the_named_one(engine: Engine, tmp_path: Path) -> None:
    path = _workbook(tmp_path / "book.xlsx", {
        "안내": [["이 파일은 주문 내역입니다"], ["다음 시트를 보세요"]],
        "고객": [["customer_id", "name", "joined_at"], ["c1", "김하나", datetime(2025, 3, 1, 12, 0)], ["c2", "이두리", None]],
    })
    with pytest.raises(DataError, match=r"missing required field\(s\) customer_id"):
        import_file(engine, "customers", path)  # the first sheet is read by default
    with pytest.raises(DataError, match=r"--sheet 주문: no such sheet in book.xlsx \(sheets: 안내, 고객\)"):
        import_file(engine, "customers", path, sheet="주문")
    result = import_file(engine, "customers", path, sheet="고객")
    assert result["inserted"] == 2 and result["sheet"] == "고객"
    with session_scope(engine) as s:
        c1 = s.get(Customer, "c1")
        assert c1 is not None and c1.joined_at == datetime(2025, 3, 1, 3, 0, tzinfo=UTC)
    with pytest.raises(DataError, match=r"sheets are for \.xlsx files"):
        import_file(engine, "customers", _write(tmp_path, "c.csv", "customer_id\nc3\n"), sheet="고객")


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp949", "euc-kr"])
def test_csv_encodings_are_detected(engine: Engine, tmp_path: Path, encoding: str) -> None:
    # 똠 is outside EUC-KR's 2,350 syllables (CP949, what Korean Excel writes, has all 11,172)
    name = "이두리, 방각하" if encoding == "euc-kr" else "이두리, 똠방각하"
    text = f"customer_id,name,phone\r\nc1,김하나,010-0000-0001\r\nc2,\"{name}\",\r\n"
    path = _write(tmp_path, "customers.csv", text, encoding)
    if encoding == "utf-16":
        assert path.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")  # with a BOM (rejected as binary before)
    result = import_file(engine, "customers", path)
    assert result["inserted"] == 2
    with session_scope(engine) as s:
        assert s.get(Customer, "c2").name == name  # type: ignore[union-attr]
        assert s.get(Customer, "c1").phone == "010-0000-0001"  # type: ignore[union-attr]


def test_undecodable_text_names_its_line(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes("customer_id,name\nc1,김하나\n".encode() + b"c2,\xff\xfe\xfd\n")
    with pytest.raises(DataError, match=r"line 3: not UTF-8, UTF-16 or CP949 \(EUC-KR\) text"):
        import_file(engine, "customers", path)
    assert _count(engine, Customer) == 0


def test_float_renderings_are_the_amount_finer_amounts_are_errors() -> None:
    assert parse_money("22.200000000000003", "amount") == Decimal("22.20")
    assert parse_money("1.1000000000000001", "amount") == Decimal("1.10")
    assert parse_money(0.1 + 0.2, "amount") == Decimal("0.30")  # an .xlsx number cell
    assert parse_money("5.551115123125783e-17", "amount", allow_negative=True) == 0
    assert parse_money("12300.000000000002", "amount", places=0) == Decimal("12300")
    for finer, places in (("22.123", 2), ("22.1230000000001", 2), ("0.001", 2), ("12300.5", 0), ("99.99", 0)):
        with pytest.raises(RowError, match=r"decimal places|not a whole amount"):
            parse_money(finer, "amount", places=places)


def test_float_amounts_in_a_file_and_a_finer_one_rejected_with_its_line(engine: Engine, tmp_path: Path) -> None:
    products = ("product_id,name,price,cost\nP-1,참기름,22.200000000000003,1.1000000000000001\n"
                "P-2,들기름,14899.999999999998,8900\n")
    import_file(engine, "products", _write(tmp_path, "p.csv", products))
    with session_scope(engine) as s:
        p1, p2 = s.get(Product, "P-1"), s.get(Product, "P-2")
        assert p1 is not None and p1.price == Decimal("22.20") and p1.cost == Decimal("1.10")
        assert p2 is not None and p2.price == Decimal("14900")
    finer = "product_id,name,price\nP-3,깨소금,5000\nP-4,고춧가루,22.123\n"
    with pytest.raises(DataError, match=r"line 3: price '22.123' has more than 2 decimal places — nothing was imported"):
        import_file(engine, "products", _write(tmp_path, "finer.csv", finer))
    orders = "order_id,customer_id,ordered_at,amount\nK-1,c1,2026-11-01,12300\nK-2,c1,2026-11-02,7000.50\n"
    with pytest.raises(DataError, match=r"line 3: amount '7000.50' is not a whole amount \(KRW has no decimals\)"):
        import_file(engine, "orders", _write(tmp_path, "krw.csv", orders), currency="KRW")
    assert _count(engine, Product) == 2 and _count(engine, Order) == 0
    with pytest.raises(DataError, match="unknown currency"):
        import_file(engine, "orders", _write(tmp_path, "krw.csv", orders), currency="ZZZ")


def test_cdnow_daily_totals_summed_as_floats(engine: Engine, tmp_path: Path) -> None:
    """The real CDNOW transactions summed per customer and day the way pandas does (binary floats) and
    written with repr(): 315 of the 67,591 totals come out as `56.879999999999995`-style text, which the
    importer refused before ("more than 2 decimal places"). They import as the exact cents; a real
    sub-cent amount slipped into the middle of the file still rejects it with its line, writing nothing."""
    source = shared_data("rfm/cdnow_master_transactions.csv")
    float_sums: dict[tuple[str, str], float] = {}
    exact: dict[tuple[str, str], Decimal] = {}
    with source.open(newline="") as f:
        for r in csv.DictReader(f):
            key = (r["customer_id"], r["date"])
            float_sums[key] = float_sums.get(key, 0.0) + float(r["dollar_value"])
            exact[key] = exact.get(key, Decimal(0)) + Decimal(r["dollar_value"])
    lines = ["customer_id,date,amount"] + [f"{c},{d},{v!r}" for (c, d), v in float_sums.items()]
    noisy = sum(1 for k, v in float_sums.items() if Decimal(repr(v)) != exact[k])
    assert noisy == 315
    mapping = ["order_id=customer_id+date", "ordered_at=date"]

    middle = len(lines) // 2
    bad = lines.copy()
    bad[middle] = bad[middle].rsplit(",", 1)[0] + ",12.345"
    with pytest.raises(DataError, match=rf"line {middle + 1}: amount '12.345' has more than 2 decimal places"):
        import_file(engine, "orders", _write(tmp_path, "bad.csv", "\n".join(bad) + "\n"), mapping)
    assert _count(engine, Order) == 0 and _count(engine, Customer) == 0

    result = import_file(engine, "orders", _write(tmp_path, "daily.csv", "\n".join(lines) + "\n"), mapping)
    assert result["orders"] == len(exact) == 67591
    with session_scope(engine) as s:
        assert s.scalar(select(func.sum(Order.amount))) == sum(exact.values())
        assert s.get(Order, "95-1997-05-11").amount == Decimal("56.88")  # type: ignore[union-attr]


def test_marketplace_presets_on_real_header_rows(engine: Engine, tmp_path: Path) -> None:
    coupang = FIXTURES / "coupang_deliverylist.csv"
    with pytest.raises(DataError, match=r"missing required field\(s\) customer_id"):
        import_file(engine, "orders", coupang, preset="coupang")  # the export has no buyer ID
    result = import_file(engine, "orders", coupang, ["customer_id=구매자전화번호"], preset="coupang")
    assert result["orders"] == 1 and result["order_items"] == 2
    with session_scope(engine) as s:
        order = s.get(Order, "28000000000101")
        assert order is not None and order.amount == Decimal("36700") and order.customer_id == "0504-0000-0008"
        assert order.ordered_at == datetime(2026, 11, 3, 1, 15, 2, tzinfo=UTC)
        assert s.get(Product, "7100000002").name == "고기 왕만두 1.2kg"  # type: ignore[union-attr]

    result = import_file(engine, "orders", FIXTURES / "cafe24_orders.csv", preset="cafe24")  # CP949, like Excel
    assert result["orders"] == 1 and result["order_items"] == 2
    with session_scope(engine) as s:
        order = s.get(Order, "20261104-0000031")
        assert order is not None and order.amount == Decimal("41700") and order.customer_id == "cafe_nam"
        assert order.status == "delivered"
        items = s.scalars(select(OrderItem.product_name).where(OrderItem.order_id == order.id)).all()
        assert sorted(items) == ["국산 들기름 350ml", "참깨 500g"]


def test_cut_off_files_are_refused_with_the_line(engine: Engine, tmp_path: Path) -> None:
    head = "order_id,customer_id,ordered_at,amount,product_name\nT-1,c1,2026-11-01,1000,만두\nT-2,c2,2026-11-02,2000,\"갈비탕\n600g\"\n"
    short = _write(tmp_path, "short.csv", head + "T-3,c1,2026-11")  # the download stopped mid-row
    with pytest.raises(DataError, match=r"line 5: 3 cells but the header has 5 columns — the row is cut short"):
        import_file(engine, "orders", short)
    open_quote = _write(tmp_path, "quote.csv", head + 'T-3,c1,2026-11-03,3000,"참기름 3')
    with pytest.raises(DataError, match=r"line 5: the record is cut short or badly quoted"):
        import_file(engine, "orders", open_quote)
    plain = _workbook(tmp_path / "full.xlsx", {"orders": [["order_id", "customer_id", "ordered_at", "amount"]]
                                               + [[f"X-{i}", "c1", "2026-11-01", 1000] for i in range(200)]})
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(plain.read_bytes()[: plain.stat().st_size // 2])
    with pytest.raises(DataError, match="damaged or cut short"):
        import_file(engine, "orders", cut)
    for model in (Order, OrderItem, Customer):
        assert _count(engine, model) == 0


def test_orders_spread_over_chunks_add_up_and_a_late_error_rolls_all_back(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importers, "CHUNK_ROWS", 2)
    lines = ["order_id,customer_id,customer_name,ordered_at,amount,product_id,quantity",
             "S-1,c1,,2026-11-01T10:00:00+09:00,1000,P-1,1",
             "S-2,c2,이두리,2026-11-01T11:00:00+09:00,2000,P-2,1",
             "S-3,c3,,2026-11-02T09:00:00+09:00,3000,P-1,3",
             "S-1,c1,김하나,2026-11-01T09:30:00+09:00,500,P-3,1",  # S-1 again, two chunks later
             "S-4,c1,,2026-11-03T12:00:00+09:00,4000,,",
             "S-2,c2,,2026-11-01T11:00:00+09:00,250,P-1,1"]
    path = _write(tmp_path, "chunks.csv", "\n".join(lines) + "\n")
    result = import_file(engine, "orders", path)
    assert result == {"kind": "orders", "file": str(path), "rows": 6, "orders": 4, "orders_inserted": 4,
                      "orders_updated": 0, "order_items": 5, "customers_created": 3, "products_created": 3,
                      "claims": 0, "claims_inserted": 0}
    with session_scope(engine) as s:
        s1 = s.get(Order, "S-1")
        assert s1 is not None and s1.amount == Decimal("1500")
        assert s1.ordered_at == datetime(2026, 11, 1, 0, 30, tzinfo=UTC)  # the earliest line's time
        assert s.get(Order, "S-2").amount == Decimal("2250")  # type: ignore[union-attr]
        assert s.scalar(select(func.count()).where(OrderItem.order_id == "S-1")) == 2
        assert s.get(Customer, "c1").name == "김하나"  # type: ignore[union-attr]
        rollup = s.execute(select(func.sum(SalesDaily.orders), func.sum(SalesDaily.revenue))).one()
    assert rollup == (4, Decimal("10750"))
    again = import_file(engine, "orders", path)
    assert again["orders_updated"] == 4 and again["customers_created"] == 0 and _count(engine, OrderItem) == 5

    late_error = lines[:1] + [ln.replace("S-", "N-").replace(",c", ",n") for ln in lines[1:]] + [
        "N-9,n9,,2026-11-04,12.3x,,"]
    with pytest.raises(DataError, match=r"line 8: amount '12.3x' is not an amount — nothing was imported"):
        import_file(engine, "orders", _write(tmp_path, "late.csv", "\n".join(late_error) + "\n"))
    assert _count(engine, Order) == 4 and _count(engine, OrderItem) == 5 and _count(engine, Customer) == 3
    with session_scope(engine) as s:
        assert s.execute(select(func.sum(SalesDaily.revenue))).scalar() == Decimal("10750")


def test_cli_reads_an_encrypted_sheet_and_fails_a_cut_off_csv(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plain = _workbook(tmp_path / "plain.xlsx", {"안내": [["주문 내역"]], "발주발송관리": _smartstore_sheet()})
    locked = _encrypt(plain, tmp_path / "orders.xlsx", PASSWORD)
    proc = cli("import", "orders", str(locked), "--preset", "smartstore", "--sheet", "발주발송관리", "--json",
               env={"SAJANG_IMPORT_PASSWORD": PASSWORD})
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["orders"] == 2 and out["sheet"] == "발주발송관리"
    assert PASSWORD not in proc.stdout + proc.stderr
    proc = cli("import", "orders", str(locked), "--preset", "smartstore", "--sheet", "발주발송관리",
               "--password", "nope", "--json")
    assert proc.returncode == 1 and proc.stdout == "" and "wrong password" in proc.stderr

    cut = _write(tmp_path, "cut.csv", "customer_id,name,phone\nc1,김하나,010-0000-0001\nc2,이두")
    proc = cli("import", "customers", str(cut), "--json")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().startswith("error: line 3: 2 cells but the header has 3 columns")


def test_wide_used_range_and_header_detection(engine: Engine, tmp_path: Path) -> None:
    """Excel's CSV of a sheet whose used range is wider than the data ends rows with empty cells; a header
    is found below a title row; without any known column the first row is the header."""
    text = "고객 명단 (2026-11)\ncustomer_id,name,,\nc1,김하나,,\nc2,이두리,,\n"
    result = import_file(engine, "customers", _write(tmp_path, "wide.csv", text))
    assert result["inserted"] == 2
    unknown = "번호,이름\n1,김\n"
    with pytest.raises(DataError, match=r"missing required field\(s\) customer_id: the file's columns are 번호, 이름"):
        import_file(engine, "customers", _write(tmp_path, "unknown.csv", unknown))
    out = io.StringIO()
    csv.writer(out).writerows([["customer_id", "name"], ["c3", "박셋", "extra"]])
    with pytest.raises(DataError, match="line 2: 3 cells but the header has 2 columns"):
        import_file(engine, "customers", _write(tmp_path, "extra.csv", out.getvalue()))


# One fixture per preset, each built on a real header row (README "Marketplace presets" names the sources)
# with made-up lines: (file, kind, preset, --map, the mapping the preset must give, a value to break, its line)
PRESET_FIXTURES = [
    ("smartstore_orders.csv", "orders", "smartstore", [],
     {"order_id": "주문번호", "customer_id": "구매자ID", "customer_name": "구매자명", "ordered_at": "결제일",
      "amount": "상품별 총 주문금액", "status": "주문상태", "product_id": "상품번호", "product_name": "상품명",
      "quantity": "수량"},
     ('"12,900"', '"12,9OO"'), r"line 5: amount '12,9OO' is not an amount"),
    ("coupang_deliverylist.csv", "orders", "coupang", ["customer_id=구매자전화번호"],
     {"order_id": "주문번호", "customer_id": "구매자전화번호", "customer_name": "구매자", "ordered_at": "주문일",
      "amount": "결제액", "product_id": "노출상품ID", "product_name": "등록상품명", "quantity": "구매수(수량)"},
     (",10900,무료", ",1O900,무료"), r"line 3: amount '1O900' is not an amount"),
    ("coupang_deliverylist_2021.csv", "orders", "coupang", ["customer_id=구매자전화번호"],  # the older 40 columns
     {"order_id": "주문번호", "customer_id": "구매자전화번호", "customer_name": "구매자", "ordered_at": "주문일",
      "amount": "결제액", "product_id": "노출상품ID", "product_name": "등록상품명", "quantity": "구매수(수량)"},
     (",15900,무료", ",15900.5.0,무료"), r"line 2: amount '15900.5.0' is not an amount"),
    ("cafe24_orders.csv", "orders", "cafe24", [],
     {"order_id": "주문번호", "customer_id": "주문자 아이디", "customer_name": "주문자명", "ordered_at": "주문일시",
      "amount": "상품구매금액(KRW)", "status": "주문상태", "product_name": "상품명(한국어 쇼핑몰)", "quantity": "수량"},
     ('"9,900"', '"9,9OO"'), r"line 3: amount '9,9OO' is not an amount"),
    ("smartstore_qna.json", "qna", "smartstore", [],
     {"question_id": "questionId", "text": "question", "product_id": "productId", "asked_at": "createDate",
      "answer": "answer"},
     ("2026-11-27T09:10:00.0+09:00", "어제 오전"), r"line 13 \(item 2\): asked_at '어제 오전'"),
    ("coupang_qna.json", "qna", "coupang", [],
     {"question_id": "inquiryId", "text": "content", "product_id": "productId", "asked_at": "inquiryAt"},
     ("2026-11-29 18:40:12", "2026-13-29 18:40:12"), r"line 14 \(item 2\): asked_at '2026-13-29 18:40:12'"),
]


def _fixture_text(name: str) -> tuple[str, str]:
    raw = (FIXTURES / name).read_bytes()
    for encoding in ("utf-8-sig", "cp949"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError(name)


@pytest.mark.parametrize(("name", "kind", "preset", "mapping", "columns", "breaks", "error"), PRESET_FIXTURES,
                         ids=[f[0] for f in PRESET_FIXTURES])
def test_each_preset_maps_its_real_header_and_a_broken_copy_writes_nothing(
        engine: Engine, tmp_path: Path, name: str, kind: str, preset: str, mapping: list[str],
        columns: dict[str, str], breaks: tuple[str, str], error: str) -> None:
    from sajang.db.models import ProductQna

    if kind == "qna":  # questions name products that must exist
        with session_scope(engine) as s:
            s.add_all(Product(id=pid, name=pid) for pid in ("8812", "8813", "7100000001", "7100000002"))
    plan = importers.read_rows(FIXTURES / name, kind, importers.parse_mapping(mapping, kind), preset)
    plan.table.close()
    assert plan.columns == columns
    text, encoding = _fixture_text(name)
    assert text.count(breaks[0]) == 1
    broken = _write(tmp_path, name, text.replace(breaks[0], breaks[1]), encoding)
    with pytest.raises(DataError, match=error + ".* nothing was imported"):
        import_file(engine, kind, broken, mapping, preset=preset)
    for model in (Order, OrderItem, Customer, ProductQna):
        assert _count(engine, model) == 0
    assert _count(engine, Product) == (4 if kind == "qna" else 0)

    result = import_file(engine, kind, FIXTURES / name, mapping, preset=preset)
    with session_scope(engine) as s:
        if name == "smartstore_orders.csv":  # the older 66-column download, title row above the header
            assert result["orders"] == 2 and result["order_items"] == 3 and result["claims"] == 1
            order = s.get(Order, "2026112057100")
            assert order is not None and order.amount == Decimal("36700") and order.customer_id == "naver_seo"
            assert order.ordered_at == datetime(2026, 11, 20, 12, 4, 11, tzinfo=UTC)  # 결제일, shop time
            assert s.get(Customer, "naver_nam").name == "남열둘"  # type: ignore[union-attr]
            assert s.get(Product, "8813").name == "고기 왕만두 1.2kg"  # type: ignore[union-attr]
        elif name == "coupang_deliverylist_2021.csv":
            assert result["orders"] == 1 and result["order_items"] == 1
            order = s.get(Order, "28000000000777")
            assert order is not None and order.amount == Decimal("15900") and order.customer_id == "0504-0000-0013"
        elif kind == "orders":
            assert result["orders"] == 1 and result["order_items"] == 2
        elif preset == "smartstore":
            assert result["inserted"] == 2
            q = s.get(ProductQna, "700000101")
            assert q is not None and q.product_id == "8812" and q.text == "냉동으로 오나요?" and not q.answered
            assert q.asked_at == datetime(2026, 11, 28, 5, 5, tzinfo=UTC)
            done = s.get(ProductQna, "700000102")
            assert done is not None and done.answered and done.answer == "약 40개 들어 있습니다."
        else:
            assert result["inserted"] == 2
            q = s.get(ProductQna, "91000002")
            assert q is not None and q.text == "유통기한이 언제까지인가요?" and q.product_id == "7100000002"
            assert q.asked_at == datetime(2026, 11, 29, 9, 40, 12, tzinfo=UTC)
