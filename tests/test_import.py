"""Importers on the real database: every kind, bad files (line numbers, nothing written), re-imports,
--map, marketplace presets, the real CDNOW transactions, and the `sajang import` / `seed-demo` CLI."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from sajang.db import importers
from sajang.db.engine import session_scope
from sajang.db.errors import DataError
from sajang.db.importers import import_file
from sajang.db.models import Claim, Customer, Order, OrderItem, Product, ProductQna, Review, Settlement
from tests.conftest import shared_data

ORDERS_CSV = """order_id,customer_id,customer_name,ordered_at,amount,status,product_id,product_name,quantity,claim_type,claim_reason
A-1,c1,김하나,2026-10-01T10:00:00+09:00,"12,300",delivered,X-1,순살 갈비탕,1,,
A-1,c1,김하나,2026-10-01T10:00:00+09:00,24600원,delivered,X-2,고기 왕만두,2,,
A-2,c2,이두리,2026-10-02 09:30,5000,취소완료,X-1,순살 갈비탕,1,취소,"주문 실수
(옵션 잘못 선택)"
A-3,c1,김하나,2026-10-03,7000.50,배송중,,,,,
"""


def _count(engine: Engine, model: type) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def test_orders_csv_with_items_claims_and_reimport(engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, "orders.csv", ORDERS_CSV)
    result = import_file(engine, "orders", path)
    assert result["orders"] == 3 and result["order_items"] == 3 and result["customers_created"] == 2
    assert result["products_created"] == 2 and result["claims"] == 1
    with session_scope(engine) as s:
        a1 = s.get(Order, "A-1")
        assert a1 is not None and a1.amount == Decimal("36900") and a1.status == "delivered"
        assert a1.ordered_at == datetime(2026, 10, 1, 1, 0, tzinfo=UTC)
        a2 = s.get(Order, "A-2")
        assert a2 is not None and a2.status == "cancelled"
        assert a2.ordered_at == datetime(2026, 10, 2, 0, 30, tzinfo=UTC)  # naive = Asia/Seoul
        a3 = s.get(Order, "A-3")
        assert a3 is not None and a3.amount == Decimal("7000.50") and a3.status == "shipping"
        assert a3.ordered_at == datetime(2026, 10, 2, 15, 0, tzinfo=UTC)
        item = s.scalars(select(OrderItem).where(OrderItem.product_id == "X-2")).one()
        assert item.quantity == 2 and item.unit_price == Decimal("12300") and item.amount == Decimal("24600")
        claim = s.scalars(select(Claim)).one()
        assert claim.order_id == "A-2" and claim.type == "cancel" and claim.status == "completed"
        assert claim.customer_id == "c2" and "옵션" in (claim.reason or "")
        customer = s.get(Customer, "c1")
        assert customer is not None and customer.name == "김하나"
        assert s.get(Product, "X-1") is not None

    before = {m: _count(engine, m) for m in (Order, OrderItem, Customer, Product, Claim)}
    again = import_file(engine, "orders", path)
    assert again["orders_inserted"] == 0 and again["orders_updated"] == 3 and again["customers_created"] == 0
    assert {m: _count(engine, m) for m in before} == before


def test_bad_rows_report_physical_lines_and_write_nothing(engine: Engine, tmp_path: Path) -> None:
    bad = ORDERS_CSV + "A-4,c3,,2026-10-04,12.3x,delivered,,,,,\nA-5,c3,,not-a-date,100,,,,,,\n"
    path = _write(tmp_path, "bad.csv", bad)
    with pytest.raises(DataError) as err:
        import_file(engine, "orders", path)
    msg = str(err.value)
    # the quoted claim reason spans two physical lines, so the bad rows are on lines 7 and 8
    assert "line 7: amount '12.3x' is not an amount" in msg
    assert "line 8: ordered_at 'not-a-date'" in msg and "nothing was imported" in msg
    for model in (Order, OrderItem, Customer, Product, Claim):
        assert _count(engine, model) == 0

    status = _write(tmp_path, "status.csv", "order_id,customer_id,ordered_at,amount,status\nB,c,2026-01-01,1,lost\n")
    with pytest.raises(DataError, match="line 2: status 'lost' is unknown"):
        import_file(engine, "orders", status)
    missing = _write(tmp_path, "missing.csv", "id,customer,when,total\n1,c,2026-01-01,5\n")
    with pytest.raises(DataError, match=r"missing required field\(s\) order_id, customer_id, ordered_at, amount"):
        import_file(engine, "orders", missing)
    assert _count(engine, Order) == 0


def test_json_array_and_jsonl_kinds(engine: Engine, tmp_path: Path) -> None:
    products = [
        {"product_id": "P-1", "name": "국산 참기름", "category": "양념", "price": 14900, "cost": "8,900원", "stock": 12,
         "safety_stock": 5},
        {"product_id": "P-2", "name": "간장게장", "price": 34900.5, "stock": 0},
    ]
    import_file(engine, "products", _write(tmp_path, "p.json", json.dumps(products, ensure_ascii=False, indent=2)))
    with session_scope(engine) as s:
        p1, p2 = s.get(Product, "P-1"), s.get(Product, "P-2")
        assert p1 is not None and p1.cost == Decimal("8900") and p1.status == "on_sale" and p1.safety_stock == 5
        assert p2 is not None and p2.price == Decimal("34900.5") and p2.status == "sold_out"

    customers = "\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"customer_id": "c1", "name": "박셋", "phone": "010-0000-0003", "joined_at": "2025-03-01T12:00:00Z"},
        {"customer_id": "c2", "name": "최넷", "email": "four@example.com"},
    ])
    r = import_file(engine, "customers", _write(tmp_path, "c.jsonl", customers + "\n"))
    assert r["inserted"] == 2
    reviews = [{"review_id": "R1", "text": "맛있어요", "rating": 5, "product_id": "P-1", "customer_id": "c1",
                "created_at": "2026-11-01"},
               {"review_id": "R2", "text": "포장이 터졌어요", "rating": "1", "product_id": "P-2", "customer_id": "new"}]
    import_file(engine, "reviews", _write(tmp_path, "r.json", json.dumps({"reviews": reviews}, ensure_ascii=False)))
    qna = "question_id,text,product_id,customer_id,asked_at,answer\nQ1,유통기한은?,P-1,c1,2026-11-02,12개월입니다\nQ2,맵나요?,P-2,c2,2026-11-03,\n"
    import_file(engine, "qna", _write(tmp_path, "q.csv", qna))
    settle = "settled_on,sales,commission,amount\n2026-11-01,\"100,000\",5500,94500\n2026-11-02,,,0\n"
    import_file(engine, "settlements", _write(tmp_path, "s.csv", settle))
    with session_scope(engine) as s:
        assert s.get(Customer, "new") is not None  # a review's unknown customer is created
        assert s.get(Review, "R2").rating == 1  # type: ignore[union-attr]
        assert s.get(Review, "R1").created_at == datetime(2026, 10, 31, 15, tzinfo=UTC)  # type: ignore[union-attr]
        q1, q2 = s.get(ProductQna, "Q1"), s.get(ProductQna, "Q2")
        assert q1 is not None and q1.answered and q2 is not None and not q2.answered
        st = s.get(Settlement, date(2026, 11, 1))
        assert st is not None and st.amount == Decimal("94500") and st.commission == Decimal("5500")

    # a JSON array's bad element is reported at the line where it starts
    bad = json.dumps([*reviews[:1], {"review_id": "R3", "text": "별로", "rating": 9}], ensure_ascii=False, indent=2)
    with pytest.raises(DataError, match=r"line 10 \(item 2\): rating 9 is above 5"):
        import_file(engine, "reviews", _write(tmp_path, "bad.json", bad))
    with pytest.raises(DataError, match="unknown product_id NOPE"):
        import_file(engine, "reviews", _write(tmp_path, "np.csv", "review_id,text,product_id\nR9,좋아요,NOPE\n"))
    with pytest.raises(DataError, match="line 2: amount 1 is not sales 10 − commission 1"):
        import_file(engine, "settlements", _write(tmp_path, "bs.csv", "settled_on,sales,commission,amount\n2026-01-01,10,1,1\n"))
    assert _count(engine, Review) == 2 and _count(engine, Settlement) == 2


def test_reimport_keeps_columns_the_file_does_not_have(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, "customers", _write(tmp_path, "a.csv", "customer_id,name,phone\nc1,김,010-0000-0001\n"))
    import_file(engine, "customers", _write(tmp_path, "b.csv", "customer_id,name\nc1,김하나\nc1,김하나둘\n"))
    with session_scope(engine) as s:
        c = s.get(Customer, "c1")
        assert c is not None and c.name == "김하나둘" and c.phone == "010-0000-0001"
    assert _count(engine, Customer) == 1


def test_map_and_presets(engine: Engine, tmp_path: Path) -> None:
    mapped = _write(tmp_path, "m.csv", "번호,고객,일자,금액\nM-1,u1,2026-01-05,\"1,000\"\n")
    with pytest.raises(DataError, match="--map"):
        import_file(engine, "orders", mapped)
    with pytest.raises(DataError, match="unknown field 'total'"):
        import_file(engine, "orders", mapped, ["total=금액"])
    with pytest.raises(DataError, match="no column '가격'"):
        import_file(engine, "orders", mapped, ["order_id=번호", "customer_id=고객", "ordered_at=일자", "amount=가격"])
    r = import_file(engine, "orders", mapped, ["order_id=번호", "customer_id=고객", "ordered_at=일자", "amount=금액"])
    assert r["orders"] == 1

    smartstore = ("상품주문번호,주문번호,구매자명,구매자ID,결제일,상품번호,상품명,수량,최종 상품별 총 주문금액,주문상태,클레임상태\n"
                  "2026110112345601,2026110112345,정다섯,naver_jung,2026.11.01 09:12:33,8812,순살 갈비탕,2,25800,배송완료,\n"
                  "2026110112345602,2026110112345,정다섯,naver_jung,2026.11.01 09:12:33,8813,왕만두,1,10900,구매확정,\n"
                  "2026110254321001,2026110254321,한여섯,naver_han,2026.11.02 21:00:00,8812,순살 갈비탕,1,12900,반품요청,반품요청\n")
    # Korean Excel exports are often CP949
    r = import_file(engine, "orders", _write(tmp_path, "ss.csv", smartstore, "cp949"), preset="smartstore")
    assert r["orders"] == 2 and r["order_items"] == 3 and r["claims"] == 1
    cafe24 = ("주문번호,품목별 주문번호,주문일시,주문자명,주문자ID,상품번호,상품명,수량,상품구매금액,주문 상태\n"
              "20261103-0000012,20261103-0000012-01,2026-11-03 14:05:00,오일곱,cafe_oh,P0001,들기름,3,\"47,700\",배송중\n")
    r = import_file(engine, "orders", _write(tmp_path, "c24.csv", cafe24), preset="cafe24")
    assert r["orders"] == 1
    with session_scope(engine) as s:
        o = s.get(Order, "2026110112345")
        assert o is not None and o.customer_id == "naver_jung" and o.amount == Decimal("36700")
        assert o.status == "delivered" and o.ordered_at == datetime(2026, 11, 1, 0, 12, 33, tzinfo=UTC)
        ret = s.get(Order, "2026110254321")
        assert ret is not None and ret.status == "delivered"
        claim = s.scalars(select(Claim).where(Claim.order_id == "2026110254321")).one()
        assert claim.type == "return" and claim.status == "requested"
        c24 = s.get(Order, "20261103-0000012")
        assert c24 is not None and c24.status == "shipping" and c24.amount == Decimal("47700")
        assert s.get(Customer, "cafe_oh").name == "오일곱"  # type: ignore[union-attr]
    with pytest.raises(DataError, match="unknown preset"):
        import_file(engine, "orders", mapped, preset="gmarket")


def test_empty_binary_huge_files(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DataError, match="file is empty"):
        import_file(engine, "customers", _write(tmp_path, "e.csv", ""))
    with pytest.raises(DataError, match="no data rows"):
        import_file(engine, "customers", _write(tmp_path, "h.csv", "customer_id,name\n"))
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(DataError, match="not a text file"):
        import_file(engine, "customers", binary)
    monkeypatch.setattr(importers, "MAX_BYTES", 10)
    with pytest.raises(DataError, match="import limit"):
        import_file(engine, "customers", _write(tmp_path, "big.csv", "customer_id\n" + "c\n" * 20))
    with pytest.raises(DataError, match="no such file"):
        import_file(engine, "customers", tmp_path / "nope.csv")
    with pytest.raises(DataError, match="unknown kind"):
        import_file(engine, "invoices", binary)


def test_cdnow_transactions_as_orders(engine: Engine) -> None:
    path = shared_data("rfm/cdnow_master_transactions.csv")
    mapping = ["order_id=customer_id+date", "ordered_at=date", "amount=dollar_value"]
    result = import_file(engine, "orders", path, mapping)
    lines = path.read_text().splitlines()[1:]
    keys = {(ln.split(",")[0], ln.split(",")[1]) for ln in lines}
    total = sum(Decimal(ln.split(",")[3]) for ln in lines)
    assert result["rows"] == len(lines) == 69659
    assert result["orders"] == len(keys) and result["customers_created"] == len({k[0] for k in keys})
    with session_scope(engine) as s:
        assert s.scalar(select(func.sum(Order.amount))) == total
        assert s.scalar(select(func.count()).select_from(Order)) == len(keys)
    again = import_file(engine, "orders", path, mapping)
    assert again["orders_inserted"] == 0 and _count(engine, Order) == len(keys)


def test_cli_import_and_seed_demo(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = _write(tmp_path, "orders.csv", ORDERS_CSV)
    proc = cli("import", "orders", str(good), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["orders"] == 3 and proc.stdout.count("\n") == 1
    bad = _write(tmp_path, "bad.csv", "customer_id,joined_at\nc9,yesterday\n")
    proc = cli("import", "customers", str(bad), "--json")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().startswith("error: line 2: joined_at 'yesterday'")
    proc = cli("import", "orders", str(good), "--map", "nonsense", "--json")
    assert proc.returncode != 0 and proc.stdout == "" and "FIELD=COLUMN" in proc.stderr

    proc = cli("seed-demo", "--customers", "30", "--seed", "5", "--data-only", "--json")
    assert proc.returncode == 1 and "--reset" in proc.stderr  # the store has the imported orders
    proc = cli("seed-demo", "--customers", "30", "--seed", "5", "--data-only", "--reset", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["customers"] == 30 and summary["orders"] > 100
    assert "writing" in proc.stderr  # progress goes to stderr


def test_prepare_demo_seeds_an_empty_store_once(settings, engine: Engine, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from sajang.app import demo
    from sajang.db.models import ManualArticle

    # the real manual's articles, but only three of them: embedding all ~190 passages takes minutes on CI
    manual = tmp_path / "manual"
    manual.mkdir()
    for name in ("delivery-fee.md", "damage-report.md", "cooking-mandu.md"):
        shutil.copy(demo.MANUAL_DIR / name, manual / name)
    monkeypatch.setattr(demo, "MANUAL_DIR", manual)
    monkeypatch.setattr(demo, "DEMO_CUSTOMERS", 60)

    logins = demo.prepare_demo(settings)
    assert {u for _r, u, _p in logins} >= {"admin", "agent"}
    orders = _count(engine, Order)
    assert _count(engine, Customer) == 60 and orders > 400
    assert _count(engine, ManualArticle) == 3
    from sajang.db.models import CannedReply
    from sajang.services.canned_replies import DEMO_REPLIES

    assert _count(engine, CannedReply) == len(DEMO_REPLIES)  # the hub's canned replies, ready to pick
    demo.prepare_demo(settings)  # not empty any more: nothing is added
    assert _count(engine, Order) == orders and _count(engine, CannedReply) == len(DEMO_REPLIES)

    # the manual kind goes to the knowledge base
    from sajang.app.importing import import_kind

    art = _write(tmp_path, "extra.md", "id: extra-hours\ntitle: 추석 연휴 배송 안내\ncategory: delivery\n---\n"
                 "## 연휴 출고\n추석 연휴에는 택배사가 쉬어서 연휴 전날 오후 2시까지 결제된 주문만 출고합니다.\n")
    result = import_kind(settings, "manual", art, [])
    assert result["added"] == 1
    assert _count(engine, ManualArticle) == 4


def _orders_file(tmp_path: Path, name: str, prefix: str, days: list[int]) -> Path:
    lines = ["order_id,customer_id,ordered_at,amount,product_id,quantity"]
    for d in days:
        for k in range(20):
            lines.append(f"{prefix}-{d}-{k},{prefix}c{k},2026-09-{d:02d}T12:00:00+09:00,1000,P-{k % 5},1")
    return _write(tmp_path, name, "\n".join(lines) + "\n")


def test_concurrent_order_imports_of_the_same_days_both_land(engine: Engine, tmp_path: Path) -> None:
    """Two files over the same days, one in date order and one in reverse, imported at once: each
    import's triggers update the same daily rollup rows in opposite orders (PostgreSQL aborted one of the
    two with a deadlock before imports ran one at a time)."""
    import threading

    from sajang.db.models import SalesDaily

    days = list(range(1, 29))
    # the products exist already (inserting the same new product would serialize the two imports)
    import_file(engine, "orders", _orders_file(tmp_path, "first.csv", "F", [30]))
    files = [_orders_file(tmp_path, "up.csv", "U", days), _orders_file(tmp_path, "down.csv", "D", days[::-1])]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run(path: Path) -> None:
        start.wait()
        try:
            import_file(engine, "orders", path)
        except BaseException as exc:  # reported below, with the thread joined
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f,)) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    n = 2 * 20 * len(days) + 20
    assert _count(engine, Order) == n
    with session_scope(engine) as s:
        rollup = s.execute(select(func.sum(SalesDaily.orders), func.sum(SalesDaily.revenue))).one()
    assert rollup[0] == n and rollup[1] == Decimal(n * 1000)
