"""`/admin`'s new tabs in Chromium at 1440×900: 상점 설정 (change the delivery fee → saved, audited, shown in the
history, a bad value refused with the reason), AI 매니저 (a common question → the answer with the week's
numbers and a chart; a product's bad reviews → the table) and 매뉴얼 공개 범위 (one article switched to agents
only → the confirmation, the table and the service say so). Screenshots go to `artifacts`."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from sajang.config import Settings
from sajang.db.demo import seed_demo_store
from sajang.services import manual, store_settings

pytestmark = pytest.mark.browser


def test_settings_and_manager_tabs_in_browser(settings: Settings, engine: Engine, artifacts: Path,
                                              tmp_path: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    expect = playwright.expect
    from sajang.services.accounts import ensure_demo_users
    from sajang.services.manager import ask
    from tests.browser import launch_browser, live_server, login, new_page
    from tests.test_manual_audience import _import

    seed_demo_store(engine, customers=300, seed=42)
    ensure_demo_users(engine)
    _import(settings, tmp_path / "manual", ["return-fee", "return-fee.en"])
    with live_server(settings) as base, playwright.sync_playwright() as pw:
        browser = launch_browser(pw)
        page = new_page(browser)
        page.set_viewport_size({"width": 1440, "height": 900})
        login(page, base, "admin", "admin1234", next_path="/admin/")
        page.locator("#sj-kpis .sj-card").first.wait_for()
        # the morning briefing: five lines on top of the dashboard
        briefing = page.locator("#sj-briefing li")
        expect(briefing).to_have_count(5)
        expect(page.locator("#sj-briefing")).to_contain_text("오늘의 브리핑")
        expect(page.locator("#sj-briefing")).to_contain_text("어제")
        expect(page.locator("#sj-ai-metrics")).to_contain_text("AI 해결률")
        expect(page.locator("#sj-ai-metrics")).to_contain_text("고객 만족도")
        page.wait_for_timeout(400)
        page.screenshot(path=str(artifacts / "admin_briefing.png"), full_page=False)

        # --- 상점 설정
        page.get_by_role("tab", name="상점 설정").click()
        fee = page.locator("#sj-set-delivery_fee input")
        expect(fee).to_have_value("3000")
        fee.fill("3500")
        page.locator("#sj-set-dispatch_cutoff textarea, #sj-set-dispatch_cutoff input").first.fill("13:30")
        page.locator("#sj-settings-save").click()
        note = page.locator("#sj-settings-note")
        expect(note).to_contain_text("저장했어요", timeout=30_000)
        expect(note).to_contain_text("3,000 → 3,500")
        expect(page.locator("#sj-settings-history")).to_contain_text("admin")
        view = store_settings.show(settings)
        assert view.values["delivery_fee"] == 3500 and view.values["dispatch_cutoff"] == "13:30"
        assert view.history[0]["actor"] == "admin"
        page.wait_for_timeout(400)
        page.screenshot(path=str(artifacts / "admin_settings.png"), full_page=False)

        page.locator("#sj-set-dispatch_cutoff textarea, #sj-set-dispatch_cutoff input").first.fill("25:00")
        page.locator("#sj-settings-save").click()
        expect(note).to_contain_text("저장하지 않았어요", timeout=30_000)
        expect(note).to_contain_text("HH:MM")
        assert store_settings.show(settings).values["dispatch_cutoff"] == "13:30"

        # --- AI 매니저
        page.get_by_role("tab", name="AI 매니저").click()
        page.locator("#sj-manager-examples button").first.click()  # 이번 주 매출 지난주랑 비교해줘
        answer = page.locator("#sj-manager-answer")
        expect(answer).to_contain_text("이번 주", timeout=60_000)
        week = ask(settings, "이번 주 매출 지난주랑 비교해줘").data["sales_week_comparison"]
        expect(answer).to_contain_text(f"{week['revenue']:,}원")
        page.locator("#sj-manager-chart canvas, #sj-manager-chart svg").first.wait_for()
        expect(page.locator("#sj-manager-table")).to_contain_text("요일")
        page.wait_for_timeout(600)
        page.screenshot(path=str(artifacts / "admin_manager_sales.png"), full_page=False)

        page.locator("#sj-manager-question textarea").fill("갈비탕 리뷰 왜 나빠?")
        page.locator("#sj-manager-ask").click()
        expect(answer).to_contain_text("갈비탕", timeout=60_000)
        expect(answer).to_contain_text("포장")
        expect(page.locator("#sj-manager-table")).to_contain_text("★")
        page.locator("#sj-manager-aspects canvas, #sj-manager-aspects svg").first.wait_for()
        page.wait_for_timeout(600)
        page.screenshot(path=str(artifacts / "admin_manager_reviews.png"), full_page=False)

        page.locator("#sj-manager-question textarea").fill("내일 날씨 어때?")
        page.locator("#sj-manager-ask").click()
        expect(answer).to_contain_text("답할 수 없어요", timeout=60_000)

        # --- 매뉴얼 공개 범위: one article made agents-only
        page.get_by_role("tab", name="매뉴얼 공개 범위").click()
        table = page.locator("#sj-manual-table")
        expect(table).to_contain_text("반품 배송비 계산")
        expect(table).to_contain_text("상담원 메모 작성 요령")
        page.locator("#sj-manual-article input").click()
        page.get_by_role("option", name="반품 배송비 계산 (return-fee)").click()
        expect(page.locator("#sj-manual-now")).to_contain_text("고객 공개")
        page.locator("#sj-manual-audience").get_by_label("상담원 전용").check()
        page.locator("#sj-manual-save").click()
        confirm = page.locator("#sj-manual-note")
        expect(confirm).to_contain_text("저장했어요: 「반품 배송비 계산」 고객 공개 → 상담원 전용", timeout=30_000)
        expect(confirm).to_contain_text("return-fee.en")
        expect(page.locator("#sj-manual-now")).to_contain_text("관리자 변경")
        expect(table).to_contain_text("관리자 변경 (원래: 고객 공개)")
        arts = {a.id: a for a in manual.list_articles(settings)}
        assert arts["return-fee"].audience == arts["return-fee.en"].audience == "agents"
        assert arts["staff-notes"].audience == "agents" and not arts["staff-notes"].overridden
        page.wait_for_timeout(400)
        page.screenshot(path=str(artifacts / "admin_manual_visibility.png"), full_page=False)
        # the English switch relabels the tab and its table
        page.locator("#sj-admin-top").get_by_label("English").check()
        expect(page.get_by_role("tab", name="Manual visibility")).to_be_visible(timeout=30_000)
        expect(table).to_contain_text("Agents only", timeout=30_000)
        expect(table).to_contain_text("Admin (written: Customers)")
        browser.close()

