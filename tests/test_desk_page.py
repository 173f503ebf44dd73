"""The 「按单位/时限查」 tab of the page (the operator desk), in headless Chromium against the real app.

What a 12345 operator or a supervising office does there: pick a unit (and a city, a role, a
deadline range), see how many tasks it has and when they fall due month by month, read a task's
whole clause, download the list as CSV or print it; and then go back to the chat, which still
works. The numbers on the page are checked against /api/clauses with the same filters.

One browser per module; each test gets a fresh browser context. Screenshots of a desktop and a
phone view are saved to /tmp/desk.png and /tmp/desk-phone.png.
"""
from __future__ import annotations

import csv
import io
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

pytestmark = pytest.mark.browser

UNIT = "市市场监管局"
UNIT_ALIAS = "市市场监督管理局"  # how some 资阳 clauses spell it
CITY = "资阳"

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the test extra is not installed; the browser fixture skips
    expect = None


@pytest.fixture(scope="module")
def api(server_url):
    with httpx.Client(base_url=server_url, timeout=20) as client:
        yield client


def api_clauses(api, **filters) -> dict:
    """/api/clauses with these filters, every result (the corpus has fewer than 1000 clauses)."""
    params = {k: v for k, v in filters.items() if v not in (None, "")}
    first = api.get("/api/clauses", params={**params, "limit": 500}).raise_for_status().json()
    results = first["results"]
    while len(results) < first["total"]:
        more = api.get("/api/clauses", params={**params, "limit": 500, "offset": len(results)}).json()
        results += more["results"]
    return {"total": first["total"], "results": results}


class Desk:
    """The page with the desk tab open, and what a user does there."""

    def __init__(self, page, server_url: str):
        self.page = page
        self.server_url = server_url
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.failed: list[str] = []  # responses >= 400 from the app (other than a favicon)
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("response", lambda r: self.failed.append(f"{r.status} {r.url}")
                if r.status >= 400 and "favicon" not in r.url else None)
        self.tid = page.get_by_test_id
        self.total = self.tid("desk-total")
        self.rows = self.tid("desk-row")

    def open(self, path: str = "/"):
        self.page.goto(self.server_url + path)
        expect(self.tid("tab-chat")).to_be_visible()
        return self

    def switch(self):
        self.tid("tab-desk").click()
        expect(self.tid("desk-unit")).to_be_visible()
        return self

    def search(self, unit: str | None = None, city: str | None = None, role: str | None = None,
               to: str | None = None, since: str | None = None, recurring: bool | None = None):
        if city is not None:
            self.tid("desk-city").select_option(city)
        if unit is not None:
            self.tid("desk-unit").fill(unit)
        if role is not None:
            self.tid("desk-role").select_option(role)
        if since is not None:
            self.tid("desk-from").fill(since)
        if to is not None:
            self.tid("desk-to").fill(to)
        if recurring is not None:
            self.tid("desk-recurring").set_checked(recurring)
        self.tid("desk-search").click()
        return self.wait()

    def wait(self):
        expect(self.tid("desk-status")).not_to_have_text("正在查询…")
        expect(self.tid("desk-search")).to_be_enabled()
        return self

    def shown_total(self) -> int:
        expect(self.total).to_have_text(re.compile(r"共 \d+ 条"))
        return int(re.search(r"共 (\d+) 条", self.total.inner_text()).group(1))

    def months(self) -> dict[str, int]:
        items = self.tid("desk-months").locator("li")
        out = {}
        for i in range(items.count()):
            li = items.nth(i)
            key = li.get_attribute("data-month") or li.get_attribute("data-kind")
            out[key] = int(li.get_attribute("data-count"))
            assert li.locator(".month-count").inner_text() == li.get_attribute("data-count")
        return out


@pytest.fixture()
def new_desk(new_page, server_url):
    desks = []

    def open_desk(path: str = "/", **context_options):
        desk = Desk(new_page(**{"viewport": {"width": 1280, "height": 900}, **context_options}), server_url)
        desks.append(desk)
        return desk.open(path)

    yield open_desk
    for desk in desks:
        assert not desk.errors, f"JavaScript errors on the page: {desk.errors}"
        assert not desk.dialogs, f"dialogs opened: {desk.dialogs}"
        assert not desk.failed, f"failed requests: {desk.failed}"
        outside = [url for url in desk.requests if not url.startswith(server_url + "/")]
        assert outside == [], outside


@pytest.fixture()
def desk(new_desk):
    return new_desk().switch()


def unit_cells(row):
    return row.locator("td.c-lead").inner_text() + "、" + row.locator("td.c-resp").inner_text()


# --- the tabs --------------------------------------------------------------------------------

def test_the_tabs_switch_by_mouse_and_keyboard_and_the_address_follows(new_desk, api):
    desk = new_desk()
    chat_tab, desk_tab = desk.tid("tab-chat"), desk.tid("tab-desk")
    expect(chat_tab).to_have_attribute("aria-selected", "true")
    expect(desk.tid("question")).to_be_visible()
    expect(desk.tid("desk-unit")).to_be_hidden()

    desk_tab.click()
    expect(desk_tab).to_have_attribute("aria-selected", "true")
    expect(desk.tid("desk-unit")).to_be_visible()
    expect(desk.tid("question")).to_be_hidden()  # the chat's box at the bottom goes too
    expect(desk.page).to_have_url(re.compile(r"\?tab=desk$"))

    # Arrow keys move between the tabs (one tab stop, roving focus), and select as they go.
    expect(desk_tab).to_have_attribute("tabindex", "0")
    expect(chat_tab).to_have_attribute("tabindex", "-1")
    desk_tab.focus()
    desk.page.keyboard.press("ArrowLeft")
    expect(chat_tab).to_be_focused()
    expect(chat_tab).to_have_attribute("aria-selected", "true")
    expect(desk.tid("question")).to_be_visible()
    expect(desk.page).to_have_url(desk.server_url + "/")
    desk.page.keyboard.press("End")
    expect(desk_tab).to_be_focused()
    expect(desk.tid("desk-unit")).to_be_visible()

    # 「/」 on the desk goes to the unit box.
    desk.page.locator("h1").click()
    desk.page.keyboard.press("/")
    expect(desk.tid("desk-unit")).to_be_focused()
    expect(desk.tid("desk-unit")).to_have_value("")

    # The cities offered are those of the documents.
    cities = sorted({d["city"] for d in api.get("/api/documents").json() if d["city"]})
    options = desk.tid("desk-city").locator("option")
    expect(options).to_have_text(["全部", *cities])
    expect(desk.tid("desk-role").locator("option")).to_have_text(["任意", "牵头", "责任"])


def test_the_unit_picker_offers_the_units_of_the_chosen_city(desk, api):
    desk.tid("desk-city").select_option(CITY)
    units = api.get("/api/units", params={"city": CITY}).json()["units"]
    options = desk.page.locator("#desk-units option")
    expect(options).to_have_count(len({u["name"] for u in units}))
    values = options.evaluate_all("os => os.map(o => o.value)")
    assert values == [u["name"] for u in units]
    # An alias is in the option's label, so typing it finds the unit too.
    label = desk.page.locator(f'#desk-units option[value="{UNIT}"]').get_attribute("label")
    assert UNIT_ALIAS in label, label
    assert desk.tid("desk-unit").get_attribute("list") == "desk-units"

    desk.tid("desk-city").select_option("绵阳")
    mianyang = api.get("/api/units", params={"city": "绵阳"}).json()["units"]
    expect(options).to_have_count(len({u["name"] for u in mianyang}))


# --- the query, checked against the API --------------------------------------------------------

def test_a_unit_in_a_city_shows_the_same_total_as_the_api_and_pages_by_fifty(desk, api):
    desk.search(unit=UNIT, city=CITY)

    expected = api_clauses(api, unit=UNIT, city=CITY)
    assert expected["total"] > 50  # enough for two pages
    assert desk.shown_total() == expected["total"]
    expect(desk.tid("desk-desc")).to_contain_text(UNIT)
    expect(desk.rows).to_have_count(50)
    ids = [expected["results"][i]["id"] for i in range(50)]
    assert desk.rows.evaluate_all("rs => rs.map(r => r.dataset.id)") == ids
    spellings = {UNIT, UNIT_ALIAS}
    for i in range(desk.rows.count()):
        row = desk.rows.nth(i)
        assert any(s in unit_cells(row) for s in spellings), unit_cells(row)
        expect(row.locator("strong.hit").first).to_have_text(re.compile("|".join(spellings)))

    expect(desk.tid("desk-prev")).to_be_disabled()
    desk.tid("desk-next").click()
    expect(desk.rows).to_have_count(expected["total"] - 50)
    expect(desk.tid("desk-page")).to_contain_text("第 2 / 2 页")
    assert desk.rows.first.get_attribute("data-id") == expected["results"][50]["id"]
    expect(desk.tid("desk-next")).to_be_disabled()
    desk.tid("desk-prev").click()
    expect(desk.rows).to_have_count(50)
    # The address carries the query, for a bookmark.
    query = parse_qs(urlsplit(desk.page.url).query)
    assert query == {"tab": ["desk"], "unit": [UNIT], "city": [CITY]}


def test_the_month_counts_add_up_to_the_dated_results(desk, api):
    desk.search(unit=UNIT, city=CITY)
    expected = api_clauses(api, unit=UNIT, city=CITY)["results"]

    months = desk.months()
    by_month = {k: v for k, v in months.items() if re.fullmatch(r"\d{4}-\d{2}", k)}
    dated = [c for c in expected if c["fields"]["deadline"] and c["fields"]["deadline"]["date"]]
    assert sum(by_month.values()) == len(dated)
    assert list(by_month) == sorted(by_month)
    for month, count in by_month.items():
        assert count == sum(1 for c in dated if c["fields"]["deadline"]["date"].startswith(month))
    recurring_only = [c for c in expected if c["fields"]["deadline"] and not c["fields"]["deadline"]["date"]
                      and c["fields"]["deadline"]["recurring"]]
    assert months.get("长期/持续", 0) == len(recurring_only) > 0
    assert sum(months.values()) == len(expected)
    expect(desk.tid("desk-months")).to_contain_text("长期/持续")


def test_a_deadline_narrows_the_rows_to_tasks_due_by_then(desk, api):
    desk.search(unit=UNIT, city=CITY, to="2021-06-30")

    expected = api_clauses(api, unit=UNIT, city=CITY, due_before="2021-06-30")
    assert 0 < expected["total"] <= 50
    assert desk.shown_total() == expected["total"]
    expect(desk.rows).to_have_count(expected["total"])
    dates = desk.page.locator("[data-testid=desk-row] td.c-due").evaluate_all(
        "tds => tds.map(td => td.dataset.date)")
    assert dates and all(d and d <= "2021-06-30" for d in dates), dates
    expect(desk.rows.first.locator("td.c-due")).to_contain_text("2021年")
    months = desk.months()
    assert sum(months.values()) == expected["total"]  # every one of them has a date
    assert set(months) <= {"2021-05", "2021-06"} and "长期/持续" not in months
    expect(desk.page.locator(".pager")).to_be_hidden()  # one page

    # 从 as well: a range.
    desk.search(since="2021-06-01")
    expected = api_clauses(api, unit=UNIT, city=CITY, due_before="2021-06-30", due_after="2021-06-01")
    assert desk.shown_total() == expected["total"]
    assert set(desk.months()) == {"2021-06"}


def test_clicking_a_month_shows_only_that_month(desk, api):
    desk.search(unit=UNIT, city=CITY)
    desk.tid("desk-months").locator("li[data-month='2021-12'] button").click()
    desk.wait()

    expect(desk.tid("desk-from")).to_have_value("2021-12-01")
    expect(desk.tid("desk-to")).to_have_value("2021-12-31")
    expected = api_clauses(api, unit=UNIT, city=CITY, due_after="2021-12-01", due_before="2021-12-31")
    assert desk.shown_total() == expected["total"] == desk.months()["2021-12"]


def test_the_role_and_recurring_filters(desk, api):
    desk.search(unit=UNIT, city="绵阳", role="lead")
    expected = api_clauses(api, unit=UNIT, city="绵阳", role="lead")
    assert desk.shown_total() == expected["total"] > 0
    for i in range(desk.rows.count()):
        expect(desk.rows.nth(i).locator("td.c-lead strong.hit")).to_have_count(1)
    expect(desk.tid("desk-desc")).to_contain_text("（牵头）")

    desk.search(role="any", city=CITY, recurring=True)
    expected = api_clauses(api, unit=UNIT, city=CITY, recurring="true")
    assert desk.shown_total() == expected["total"] > 0
    assert all(c["fields"]["deadline"]["recurring"] for c in expected["results"])
    expect(desk.tid("desk-desc")).to_contain_text("只看长期/持续推进")

    # An alias finds the same unit.
    desk.search(unit=UNIT_ALIAS, recurring=False)
    assert desk.shown_total() == api_clauses(api, unit=UNIT, city=CITY)["total"]


def test_clicking_a_row_shows_the_whole_clause_and_where_it_sits(desk, api):
    desk.search(unit=UNIT, city=CITY)
    expected = api_clauses(api, unit=UNIT, city=CITY)["results"]
    index = next(i for i, c in enumerate(expected[:50]) if len(c["text"]) > 80)
    clause = expected[index]
    row = desk.rows.nth(index)
    detail = desk.page.locator(f"#{row.locator('.task-toggle').get_attribute('aria-controls')}")

    expect(row.locator(".task-toggle")).to_have_text(re.compile("…$"))  # truncated
    expect(detail).to_be_hidden()
    row.locator("td.c-doc").click()

    expect(detail).to_be_visible()
    expect(detail.get_by_test_id("desk-fulltext")).to_have_text(clause["text"])
    expect(detail.locator(".detail-path")).to_have_text(" › ".join(clause["path"]))
    expect(detail).to_contain_text(clause["id"])
    expect(row.locator(".task-toggle")).to_have_attribute("aria-expanded", "true")

    row.click()  # again: folds up
    expect(detail).to_be_hidden()

    # From the keyboard: the task text is a button.
    row.locator(".task-toggle").focus()
    desk.page.keyboard.press("Enter")
    expect(detail).to_be_visible()


# --- CSV and print -------------------------------------------------------------------------------

def test_the_csv_link_carries_the_filters_and_gives_the_same_clauses(desk, api):
    desk.search(unit=UNIT, city=CITY, to="2021-08-31", role="responsible")

    href = desk.tid("desk-csv").get_attribute("href")
    parts = urlsplit(href)
    assert parts.path == "/api/clauses.csv"
    assert parse_qs(parts.query) == {"unit": [UNIT], "role": ["responsible"], "city": [CITY],
                                     "due_before": ["2021-08-31"]}
    response = api.get(href)
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    expected = api_clauses(api, unit=UNIT, city=CITY, role="responsible", due_before="2021-08-31")
    assert [r["id"] for r in rows] == [c["id"] for c in expected["results"]]
    assert len(rows) == desk.shown_total()


def test_print_shows_every_result_in_full_without_the_controls(desk, api):
    desk.search(unit=UNIT, city=CITY)
    total = desk.shown_total()
    assert total > 50
    desk.page.evaluate("() => { window.print = () => { window.__printed = (window.__printed || 0) + 1; }; }")

    desk.tid("desk-print").click()
    assert desk.page.evaluate("window.__printed") == 1

    # What the browser does around printing: all rows, whole texts, then back to the page.
    desk.page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    desk.page.emulate_media(media="print")
    expect(desk.rows).to_have_count(total)
    expect(desk.page.locator(".task-toggle")).to_have_count(0)
    first = api_clauses(api, unit=UNIT, city=CITY)["results"][0]
    expect(desk.rows.first.locator("td.c-task")).to_have_text(first["text"])
    for hidden in ["tab-chat", "tab-desk", "desk-unit", "desk-search", "desk-csv", "desk-print", "question"]:
        expect(desk.tid(hidden)).to_be_hidden()
    expect(desk.page.locator(".pager")).to_be_hidden()
    expect(desk.total).to_be_visible()
    table = desk.page.locator(".desk-table").bounding_box()
    assert table["width"] >= desk.page.viewport_size["width"] * 0.9

    desk.page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    desk.page.emulate_media(media="screen")
    expect(desk.rows).to_have_count(50)
    expect(desk.tid("desk-unit")).to_be_visible()


# --- safety, and the way back to the chat ----------------------------------------------------------

def test_markup_typed_as_a_unit_is_shown_as_text_and_never_runs(desk, api):
    unit = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    desk.search(unit=unit)

    assert desk.shown_total() == api_clauses(api, unit=unit)["total"] == 0
    expect(desk.tid("desk-desc")).to_contain_text(unit)
    expect(desk.tid("desk-status")).to_contain_text("没有符合条件")
    assert desk.page.locator("#panel-desk script, #panel-desk img").count() == 0
    assert desk.dialogs == []
    # It goes into the CSV link as an encoded parameter, not as markup.
    assert parse_qs(urlsplit(desk.tid("desk-csv").get_attribute("href")).query)["unit"] == [unit]


def test_an_error_from_the_server_is_shown_with_its_reason(desk):
    desk.page.evaluate("document.getElementById('desk-city').add(new Option('北京', '北京'))")
    desk.tid("desk-city").select_option("北京")
    desk.tid("desk-search").click()
    expect(desk.tid("desk-status")).to_contain_text("unknown city '北京'")
    expect(desk.tid("desk-search")).to_be_enabled()
    desk.failed.clear()  # the 400s were the point


def test_an_address_with_filters_opens_the_desk_and_runs_the_query(new_desk, api):
    desk = new_desk(f"/?tab=desk&unit={UNIT}&city={CITY}&due_before=2021-06-30&due_after=2021-01-01")

    expect(desk.tid("tab-desk")).to_have_attribute("aria-selected", "true")
    expect(desk.tid("desk-unit")).to_have_value(UNIT)
    expect(desk.tid("desk-city")).to_have_value(CITY)
    expect(desk.tid("desk-to")).to_have_value("2021-06-30")
    expect(desk.tid("desk-from")).to_have_value("2021-01-01")
    expected = api_clauses(api, unit=UNIT, city=CITY, due_before="2021-06-30", due_after="2021-01-01")
    desk.wait()
    assert desk.shown_total() == expected["total"]


def test_a_list_answer_in_the_chat_links_to_the_desk_and_keeps_the_conversation(new_desk, api):
    desk = new_desk()
    url = f"/?tab=desk&unit={UNIT}&city={CITY}&role=responsible"
    total = api_clauses(api, unit=UNIT, city=CITY, role="responsible")["total"]
    fake = {"question": "q", "resolved_question": "q", "answer": f"{UNIT}负责的任务共{total}项。",
            "refused": False, "intent": "list", "confidence": 1.0, "mode": "extractive", "note": None,
            "citations": [], "listing": {"total": total, "filters": {}, "url": url}}
    desk.page.route("**/api/ask", lambda route: route.fulfill(json=fake))
    desk.tid("question").fill(f"{CITY}{UNIT}负责哪些任务")
    desk.tid("question").press("Enter")

    link = desk.tid("listing-link")
    expect(link).to_have_text(f"在「按单位/时限查」里看全部 {total} 项")
    link.click()

    expect(desk.tid("tab-desk")).to_have_attribute("aria-selected", "true")
    desk.wait()
    assert desk.shown_total() == total
    expect(desk.tid("desk-role")).to_have_value("responsible")
    desk.tid("tab-chat").click()
    expect(desk.tid("turn")).to_have_count(1)  # no reload: the conversation is still there


def test_switching_back_to_the_chat_still_answers(desk):
    desk.search(unit=UNIT, city=CITY)
    desk.tid("tab-chat").click()

    question = desk.tid("question")
    expect(question).to_be_visible()
    question.fill("在资阳开个公司要几天？")
    question.press("Enter")
    turn = desk.tid("turn").first
    expect(turn.get_by_test_id("waiting")).to_have_count(0)
    expect(turn.get_by_test_id("answer")).to_contain_text(re.compile("工作日|小时"))
    expect(turn.get_by_test_id("citation").first).to_be_visible()

    # And the desk kept its results.
    desk.tid("tab-desk").click()
    expect(desk.rows).to_have_count(50)


# --- how it looks ------------------------------------------------------------------------------------

def test_screenshots_of_a_desktop_and_a_phone(new_desk):
    desktop = new_desk(viewport={"width": 1280, "height": 900}).switch()
    desktop.search(unit=UNIT, city=CITY)
    desktop.rows.nth(2).click()
    desktop.page.evaluate("window.scrollTo(0, 0)")
    desktop.page.screenshot(path="/tmp/desk.png")
    assert desktop.page.evaluate("document.documentElement.scrollWidth") <= 1280

    phone = new_desk(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                     has_touch=True).switch()
    phone.search(unit=UNIT, city=CITY, to="2021-12-31")
    phone.page.evaluate("window.scrollTo(0, 0)")
    phone.page.screenshot(path="/tmp/desk-phone.png")
    # Only the table scrolls sideways, not the page.
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= 390
    scroller = phone.page.locator(".table-scroll")
    assert scroller.evaluate("el => el.scrollWidth > el.clientWidth")
    # An opened row's text stays within the screen.
    phone.rows.first.click()
    text = phone.page.get_by_test_id("desk-fulltext").first.bounding_box()
    assert text["x"] >= 0 and text["x"] + text["width"] <= 390
    phone.page.screenshot(path="/tmp/desk-phone-detail.png")
