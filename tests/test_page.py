"""The chat page at /, driven in headless Chromium against the real app (server_url).

What a business owner or a 12345 operator does on the page, and what they see: an answer
sentence, the clauses it comes from with the answering words marked, the responsible units,
a follow-up that keeps the context, a plain refusal when the documents do not cover a city,
and nothing from a question or a document ever run as markup.

One browser per module; each test gets a fresh browser context (its own page and history).
Screenshots of a desktop and a phone view are saved to /tmp/page.png and /tmp/page-phone.png.
"""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

ZIYANG_PLAN = "资阳市创建一流营商环境2021年行动方案"

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the test extra is not installed; the browser fixture skips
    expect = None


class Chat:
    """The page, with the few things a user does on it."""

    def __init__(self, page, server_url: str):
        self.page = page
        self.server_url = server_url
        self.question = page.get_by_test_id("question")
        self.turns = page.get_by_test_id("turn")
        self.asked: list[dict] = []  # the JSON bodies the page POSTed to /api/ask
        self.requests: list[str] = []  # every URL the page loaded
        self.errors: list[str] = []  # uncaught JavaScript errors
        page.on("request", self._on_request)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _on_request(self, request):
        self.requests.append(request.url)
        if request.url.endswith("/api/ask") and request.method == "POST":
            self.asked.append(request.post_data_json)

    def open(self):
        self.page.goto(self.server_url + "/")
        expect(self.question).to_be_visible()
        return self

    def wait_for_turn(self, index: int):
        """The index-th turn, once its answer (or error) has replaced 「正在查找…」."""
        expect(self.turns).to_have_count(index + 1)
        turn = self.turns.nth(index)
        expect(turn.get_by_test_id("waiting")).to_have_count(0)
        return turn

    def ask(self, question: str):
        """Type the question and press Enter, as a user would; returns the answered turn."""
        before = self.turns.count()
        self.question.fill(question)
        self.question.press("Enter")
        return self.wait_for_turn(before)


@pytest.fixture()
def new_chat(new_page, server_url):
    """Open the page in a fresh context: new_chat(viewport=..., permissions=...)."""
    chats = []

    def open_chat(**context_options):
        chat = Chat(new_page(**{"viewport": {"width": 1100, "height": 900}, **context_options}), server_url)
        chats.append(chat)
        return chat.open()

    yield open_chat
    for chat in chats:
        assert not chat.errors, f"JavaScript errors on the page: {chat.errors}"


@pytest.fixture()
def chat(new_chat):
    return new_chat()


# --- asking --------------------------------------------------------------------------------

def test_enter_asks_and_the_answer_comes_with_its_clauses(chat):
    turn = chat.ask("在资阳开个公司要几天？")

    expect(turn.get_by_test_id("asked")).to_have_text("在资阳开个公司要几天？")
    expect(turn.get_by_test_id("answer")).to_contain_text(re.compile("工作日|小时"))
    # The clause that answers: its words marked, and who is responsible for it.
    cards = turn.get_by_test_id("citation")
    answering = cards.filter(has=chat.page.locator("mark")).filter(
        has=chat.page.locator("th", has_text="责任单位"))
    expect(answering.first).to_be_visible()
    expect(answering.first).to_contain_text(ZIYANG_PLAN)
    expect(answering.first.locator("mark").first).to_have_text(re.compile("工作日|小时"))
    expect(answering.first.locator("tr", has_text="完成时限")).to_contain_text("2021年6月")
    expect(answering.first.locator(".score")).to_have_text(re.compile(r"匹配 \d+%"))
    expect(turn.get_by_test_id("caution")).to_have_count(0)  # confident: no 「请核对」 warning
    assert chat.asked == [{"question": "在资阳开个公司要几天？", "history": []}]


def test_a_follow_up_is_answered_in_the_context_of_the_earlier_turn(chat):
    first = chat.ask("在资阳开个公司要几天？")
    second = chat.ask("那费用呢？")

    first_answer = first.get_by_test_id("answer").inner_text()
    second_answer = second.get_by_test_id("answer").inner_text()
    assert second_answer != first_answer
    assert re.search("费|免费|元", second_answer), second_answer
    # Still about opening a company in 资阳: the page sent the first turn along as history.
    expect(second.get_by_test_id("cite-city").first).to_contain_text("资阳")
    expect(second.locator(".resolved")).to_contain_text("那费用呢")
    assert chat.asked[1]["history"] == [{"question": "在资阳开个公司要几天？", "answer": first_answer}]


def test_a_city_without_documents_is_refused_plainly_without_citations(chat):
    turn = chat.ask("成都开公司要几天？")

    expect(turn.locator(".reply")).to_have_class(re.compile(r"\brefused\b"))
    expect(turn.locator(".badge-a")).to_have_text("未找到依据")
    expect(turn.get_by_test_id("answer")).to_contain_text("成都")
    expect(turn.get_by_test_id("answer")).to_contain_text("12345")
    expect(turn.get_by_test_id("citation")).to_have_count(0)


def test_markup_in_a_question_is_shown_as_text_and_never_runs(chat):
    dialogs = []
    chat.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    question = "<script>alert(1)</script>开公司要几天？"

    turn = chat.ask(question)

    expect(turn.get_by_test_id("asked")).to_have_text(question)
    expect(chat.page.get_by_text("<script>alert(1)</script>", exact=False).first).to_be_visible()
    assert chat.page.locator("#conversation script").count() == 0
    assert dialogs == []


def test_markup_in_a_document_is_shown_as_text_and_highlights_land_on_the_right_words(chat):
    """A stand-in answer (the corpus has no markup): hostile title, overlapping ranges, low confidence."""
    text = "企业开办<img src=x onerror=alert(2)>压减至1个工作日内。"
    start = text.index("1个工作日")
    fake = {
        "question": "q", "resolved_question": "q", "answer": "根据<b>文件</b>，1个工作日。",
        "refused": False, "intent": "time_limit", "confidence": 0.3, "mode": "extractive", "note": None,
        "citations": [{
            "id": "009-a1", "source": "x.txt", "title": "<i>标题</i>", "city": "<u>城</u>", "year": 2024,
            "number": "1", "path": ["附件", "<em>一、开办企业</em>"], "text": text, "kind": "measure",
            "span": [0, len(text)], "score": 0.9,
            "highlights": [[start, start + 3], [start + 1, start + 5], [len(text) - 1, len(text) + 9]],
            "fields": {"lead_units": ["市<s>市场监管局</s>"], "responsible_units": [], "leaders": [],
                       "deadline": None, "time_limits": [], "amounts": [], "tags": []},
        }],
    }
    dialogs = []
    chat.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    chat.page.route("**/api/ask", lambda route: route.fulfill(json=fake))

    turn = chat.ask("q")

    card = turn.get_by_test_id("citation")
    expect(card.locator(".cite-text")).to_have_text(text)
    expect(card.locator("mark")).to_have_text(["1个工作日", "。"])  # overlaps merged, end clamped
    expect(card).to_contain_text("《<i>标题</i>》")
    expect(card).to_contain_text("附件 › <em>一、开办企业</em>")
    expect(card.locator("tr", has_text="牵头单位")).to_contain_text("市<s>市场监管局</s>")
    expect(card.locator("tr")).to_have_count(1)  # no empty 责任单位 / 完成时限 rows
    expect(turn.get_by_test_id("answer")).to_have_text(fake["answer"])
    expect(turn.get_by_test_id("caution")).to_contain_text("核对")  # a low-confidence answer says so
    assert turn.locator("img, i, u, em, s, b").count() == 0
    assert dialogs == []


def test_the_city_filter_narrows_the_documents_searched(chat):
    chat.page.get_by_test_id("city").select_option("绵阳")

    turn = chat.ask("开办企业要几天")

    cities = turn.get_by_test_id("cite-city")
    expect(cities.first).to_be_visible()
    assert all(c.startswith("绵阳") for c in cities.all_inner_texts()), cities.all_inner_texts()
    expect(turn.locator(".ask .tag")).to_have_text("限绵阳")
    assert chat.asked[-1]["city"] == "绵阳"


def test_slash_focuses_the_question_box_and_a_chip_asks_its_question(chat):
    chat.page.locator("h1").click()  # focus elsewhere first
    expect(chat.question).not_to_be_focused()
    chat.page.keyboard.press("/")
    expect(chat.question).to_be_focused()
    expect(chat.question).to_have_value("")  # the slash only moved focus
    chat.question.press("/")  # while typing, a slash is just a slash
    expect(chat.question).to_have_value("/")

    chat.page.get_by_test_id("example").filter(has_text="担保费率最高多少？").click()

    turn = chat.wait_for_turn(0)
    expect(turn.get_by_test_id("asked")).to_have_text("担保费率最高多少？")
    expect(turn.get_by_test_id("answer")).to_contain_text("担保费")
    expect(chat.question).to_have_value("")


# --- for the hotline operator --------------------------------------------------------------

def test_copy_puts_the_answer_and_its_sources_on_the_clipboard(new_chat):
    chat = new_chat(permissions=["clipboard-read", "clipboard-write"])
    turn = chat.ask("在资阳开个公司要几天？")
    answer = turn.get_by_test_id("answer").inner_text()

    copy = turn.get_by_test_id("copy")
    copy.click()

    expect(copy).to_have_text("已复制")
    copied = chat.page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("答复：" + answer + "\n来源：")
    assert f"来源：《{ZIYANG_PLAN}》附件第3项（资阳）" in copied.splitlines()
    expect(copy).to_have_text("复制答复", timeout=5_000)  # the label comes back


def test_copy_falls_back_to_a_textarea_without_the_clipboard_api(new_chat):
    chat = new_chat()
    chat.page.add_init_script("""
        Object.defineProperty(navigator, 'clipboard', {value: undefined});
        document.addEventListener('copy', () => { window.__copied = document.activeElement.value; });
    """)
    chat.open()
    turn = chat.ask("成都开公司要几天？")

    turn.get_by_test_id("copy").click()

    expect(turn.get_by_test_id("copy")).to_have_text("已复制")
    copied = chat.page.evaluate("window.__copied")
    assert copied.startswith("答复：现有文件") and "来源" not in copied  # a refusal cites nothing


def test_an_error_from_the_server_is_shown_with_its_reason(chat):
    # A page left open while the index changed can offer a city the server no longer knows.
    chat.page.evaluate("""document.querySelector('[data-testid=city]').add(new Option('北京', '北京'))""")
    chat.page.get_by_test_id("city").select_option("北京")

    turn = chat.ask("开办企业要几天")

    expect(turn.get_by_test_id("error")).to_contain_text("unknown city '北京'")
    expect(chat.question).to_have_value("开办企业要几天")  # kept, to try again
    expect(chat.page.get_by_test_id("send")).to_be_enabled()


def test_the_waiting_indicator_shows_while_the_answer_is_on_its_way(chat):
    release = []
    chat.page.route("**/api/ask", lambda route: release.append(route))
    chat.question.fill("资阳 抵押登记 时限")
    chat.page.get_by_test_id("send").click()

    expect(chat.page.get_by_test_id("waiting")).to_have_text("正在查找…")
    expect(chat.page.get_by_test_id("send")).to_be_disabled()
    for _ in range(250):  # the request is held here until we let it go
        if release:
            break
        chat.page.wait_for_timeout(20)
    assert release, "the page did not call /api/ask"
    release[0].continue_()

    turn = chat.wait_for_turn(0)
    expect(turn.get_by_test_id("answer")).to_contain_text("工作日")


def test_a_new_consultation_clears_the_conversation(chat):
    chat.ask("在资阳开个公司要几天？")
    chat.page.get_by_test_id("reset").click()
    expect(chat.turns).to_have_count(0)
    chat.ask("那费用呢？")
    assert chat.asked[-1]["history"] == []


def test_the_page_loads_nothing_from_outside(chat):
    chat.ask("资阳 抵押登记 时限")
    assert chat.requests
    outside = [url for url in chat.requests if not url.startswith(chat.server_url + "/")]
    assert outside == []


# --- how it looks --------------------------------------------------------------------------

def test_screenshots_of_a_desktop_and_a_phone(new_chat):
    desktop = new_chat(viewport={"width": 1280, "height": 900})
    desktop.ask("在资阳开个公司要几天？")
    desktop.ask("那费用呢？")
    desktop.ask("成都开公司要几天？")
    desktop.page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    desktop.page.screenshot(path="/tmp/page.png", full_page=True)

    phone = new_chat(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                     has_touch=True)
    phone.ask("在资阳开个公司要几天？")
    phone.page.screenshot(path="/tmp/page-phone.png")
    # Nothing wider than the phone: no sideways scrolling.
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= 390
