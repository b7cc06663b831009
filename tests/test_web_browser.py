"""The web pages in a real browser: Debian's headless chromium driven by selenium.

An analyst clicks "not relevant" on a match and sees it recorded; searches the items for one
no topic matched and marks it a miss; hostile feed text stays text (no script runs, no image
loads, no javascript: link); a form posted from another site's page is refused. Skipped,
saying what to install, where chromium or its driver is missing.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from monitor.store import Store
from tests.webapp import Filled, fill, serving, web_config

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
    "chromium-driver); .ci/run installs them",
)


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    # a busy machine must not starve the page's renderer into chromedriver's timeout
    for arg in (
        "--disable-renderer-backgrounding",
        "--disable-background-timer-throttling",
        "--disable-backgrounding-occluded-windows",
    ):
        options.add_argument(arg)
    options.add_argument("--window-size=1280,1000")
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Filled, Store]]:
    store = Store.open(f"sqlite:///{tmp_path / 'browser.db'}")
    try:
        filled = fill(store)
        with serving(store, web_config(tmp_path)) as base:
            yield base, filled, store
    finally:
        store.close()


def _wait(driver: Any, condition: Any) -> Any:
    """Until ``condition`` holds; an element of the page being left for the next one (stale,
    or in chromedriver's words a node that "does not belong to the document" any more) or not
    there yet is asked again."""
    from selenium.common.exceptions import (
        NoSuchElementException,
        StaleElementReferenceException,
        WebDriverException,
    )
    from selenium.webdriver.support.ui import WebDriverWait

    def holds(d: Any) -> Any:
        try:
            return condition(d)
        except WebDriverException as exc:
            if "does not belong to the document" in str(exc):
                return False  # the page was replaced while it was read: ask the new one
            raise

    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, 30, ignored_exceptions=ignored).until(holds)


def _left(element: Any) -> bool:
    """Whether ``element``'s page has been replaced (chromedriver says so in two ways)."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as exc:
        if "does not belong to the document" in str(exc):
            return True
        raise
    return False


def test_not_relevant_on_a_match_is_recorded(browser: Any, site: tuple[str, Filled, Store]) -> None:
    from selenium.webdriver.common.by import By

    base, filled, store = site
    browser.get(f"{base}/matches?topic=tariffs")
    row = browser.find_element(By.ID, f"item-{filled.tariffs}")
    row.find_element(By.CSS_SELECTOR, "button[value='not_relevant']").click()
    # the form posts, and the browser follows the answer back to the same list
    _wait(
        browser,
        lambda d: "marked not relevant" in d.find_element(By.ID, f"item-{filled.tariffs}").text,
    )
    assert browser.current_url.startswith(f"{base}/matches?topic=tariffs")
    (judged,) = store.feedback.standing()
    assert (judged.item_id, judged.topic, judged.verdict, judged.matched) == (
        filled.tariffs,
        "tariffs",
        "not_relevant",
        True,
    )


def test_search_finds_an_unmatched_item_and_marks_it_a_miss(
    browser: Any, site: tuple[str, Filled, Store]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base, filled, store = site
    browser.get(f"{base}/items")
    search = browser.find_element(By.NAME, "q")
    search.send_keys("over-the-horizon radar")
    Select(browser.find_element(By.NAME, "matched")).select_by_value("no")
    old = browser.find_element(By.ID, "items")
    search.submit()
    _wait(browser, lambda d: _left(old))  # the answer's page, not the one searched from
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.item")
    assert [r.get_attribute("data-item") for r in rows] == [str(filled.miss)]
    form = rows[0].find_element(By.CSS_SELECTOR, "form.miss")
    Select(form.find_element(By.NAME, "topic")).select_by_value("norad")
    form.find_element(By.TAG_NAME, "button").click()
    _wait(
        browser,
        lambda d: (
            "NORAD review: marked relevant" in d.find_element(By.ID, f"item-{filled.miss}").text
        ),
    )
    (judged,) = store.feedback.standing()
    assert (judged.item_id, judged.topic, judged.verdict, judged.matched) == (
        filled.miss,
        "norad",
        "relevant",
        False,  # a miss: relevant to a topic that did not match it
    )
    assert judged.kind == "miss"


def test_hostile_titles_are_inert(browser: Any, site: tuple[str, Filled, Store]) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    base, filled, _ = site
    for path in ("/matches", "/items", "/feeds", *(f"/stories/{n}" for n in filled.hostile)):
        browser.get(base + path)
        _wait(browser, lambda d: d.execute_script("return document.readyState") == "complete")
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text  # noqa: B018 - asking is the check
        assert browser.execute_script("return document.scripts.length") == 0, path
        assert browser.find_elements(By.TAG_NAME, "img") == [], path
        schemes = browser.execute_script(
            "return [...document.querySelectorAll('a[href]')].map(a => a.protocol)"
        )
        assert set(schemes) <= {"http:", "https:"}, (path, schemes)
    browser.get(f"{base}/matches")
    text = browser.find_element(By.ID, "matches").text
    assert "<script>alert(1)</script>" in text  # shown as the text it is
    assert "<img src=x onerror=alert(7)>" in text


class _Attacker(BaseHTTPRequestHandler):
    """Another site's page: a form that posts a judgement to the monitor on load."""

    target = ""

    def do_GET(self) -> None:
        body = f"""<!doctype html><html><body>
<form id="f" method="post" action="{self.target}/feedback">
<input name="item" value="1"><input name="topic" value="norad">
<input name="verdict" value="not_relevant"><input name="csrf" value="guessed">
</form><script>document.getElementById('f').submit()</script></body></html>""".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_cross_site_post_is_refused(browser: Any, site: tuple[str, Filled, Store]) -> None:
    from selenium.webdriver.common.by import By

    base, _, store = site
    handler = type("Attacker", (_Attacker,), {"target": base})
    attacker = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=attacker.serve_forever, daemon=True)
    thread.start()
    try:
        # another port is another origin: the browser says so in Origin and Sec-Fetch-Site
        browser.get(f"http://localhost:{attacker.server_address[1]}/")
        _wait(browser, lambda d: d.current_url.startswith(f"{base}/feedback"))
        body = browser.find_element(By.TAG_NAME, "body").text
        assert body.startswith("refused:"), body
    finally:
        attacker.shutdown()
        attacker.server_close()
    assert store.feedback.standing() == []


def test_two_wrong_and_one_missed_give_a_measured_rule_change(
    browser: Any, site: tuple[str, Filled, Store]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base, filled, store = site
    for item in filled.hostile[:2]:  # two matches judged wrong
        browser.get(f"{base}/matches?topic=norad")
        row = browser.find_element(By.ID, f"item-{item}")
        row.find_element(By.CSS_SELECTOR, "button[value='not_relevant']").click()
        _wait(browser, lambda d, i=item: "marked" in d.find_element(By.ID, f"item-{i}").text)
    browser.get(f"{base}/matches?topic=norad")
    browser.find_element(By.ID, f"item-{filled.norad}").find_element(
        By.CSS_SELECTOR, "button[value='relevant']"
    ).click()
    _wait(browser, lambda d: "marked" in d.find_element(By.ID, f"item-{filled.norad}").text)
    browser.get(f"{base}/items?matched=no&q=radar")  # and one missed
    form = browser.find_element(By.ID, f"item-{filled.miss}").find_element(
        By.CSS_SELECTOR, "form.miss"
    )
    Select(form.find_element(By.NAME, "topic")).select_by_value("norad")
    form.find_element(By.TAG_NAME, "button").click()
    _wait(browser, lambda d: "marked" in d.find_element(By.ID, f"item-{filled.miss}").text)
    assert sorted(j.kind for j in store.feedback.standing()) == [
        "false positive",
        "false positive",
        "match",
        "miss",
    ]
    browser.get(f"{base}/topics")
    browser.find_element(By.CSS_SELECTOR, "#topic-norad a[href$='/tune']").click()
    _wait(browser, lambda d: d.current_url.endswith("/topics/norad/tune"))
    first = browser.find_elements(By.CSS_SELECTOR, "section.suggestion")[0]
    assert "precision" in first.text and "recall" in first.text
    assert "exclude:" in first.find_element(By.TAG_NAME, "pre").text or "terms:" in first.text
