"""The local web console in a real headless browser (Debian's chromium, Selenium): what a
developer sees of the messages sent, a failed recipient's trace, the DLQ and the filters."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import example, wait_until

from emulator.web_console.browser import headless_chromium, missing

WHY_NOT = missing()
if WHY_NOT and os.environ.get("CI"):
    # On CI the browser tests must run: `make test` installs the browser first.
    raise RuntimeError(f"browser tests cannot run on CI: {WHY_NOT}")
pytestmark = pytest.mark.skipif(WHY_NOT is not None, reason=f"no browser: {WHY_NOT}")

BROWSER_WAIT_SECONDS = 20


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    driver = headless_chromium()
    yield driver
    driver.quit()


@pytest.fixture
def console(local, browser) -> Any:
    """The browser, with `console.open(path)` for the local stack's console pages."""

    def open_page(path: str = "") -> None:
        browser.get(f"{local.http.url}/_console/{path}")

    browser.open = open_page
    return browser


def on_page(browser: Any, css: str, what: str) -> list[Any]:
    """The elements matching `css` once there are some; fail naming what was awaited."""
    from selenium.webdriver.common.by import By

    return wait_until(
        lambda: browser.find_elements(By.CSS_SELECTOR, css), what, BROWSER_WAIT_SECONDS
    )


def test_an_email_sent_through_the_api_appears_without_a_reload_and_renders_its_html(console, post):
    from selenium.webdriver.common.by import By

    console.open()
    console.execute_script("window.loadedOnce = true")  # gone if the page reloads
    request = example("email-only.json")
    request["EmailMessage"]["HtmlBody"] = (
        "<h1 id='greeting'>Hello {productName}</h1>"
        "<script>document.body.insertAdjacentHTML('beforeend', '<p id=ran>ran</p>')</script>"
    )
    assert post(request).status_code == 202

    [item] = on_page(console, f"li.message[data-trace='{request['TraceId']}']", "the email shown")
    assert console.execute_script("return window.loadedOnce") is True
    assert item.find_element(By.CSS_SELECTOR, ".to").text == "user@example.com"
    assert item.find_element(By.CSS_SELECTOR, ".from").text == "alerts@example.com"
    assert item.find_element(By.CSS_SELECTOR, ".subject").text == "Low Balance Alert"
    frame = item.find_element(By.CSS_SELECTOR, "iframe.email-html")
    assert frame.get_attribute("sandbox") == ""
    console.switch_to.frame(frame)
    try:
        assert console.find_element(By.ID, "greeting").text == "Hello CHEQUING"
        assert console.find_elements(By.ID, "ran") == []  # the e-mail's script did not run
    finally:
        console.switch_to.default_content()
    text_part = item.find_element(By.CSS_SELECTOR, "details summary")
    text_part.click()
    assert "Hello CHEQUING" in item.find_element(By.CSS_SELECTOR, "details pre").text
