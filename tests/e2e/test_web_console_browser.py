"""The local web console in a real headless browser (Debian's chromium, Selenium): what a
developer sees of the messages sent, a failed recipient's trace, the DLQ and the filters."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from conftest import DEADLINE_SECONDS as DEADLINE
from conftest import example, outbox, trace_status, wait_until

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


def submit(browser: Any, control: Any) -> None:
    """Submit `control`'s form and wait for the next page: the one before it still holds
    the unfiltered messages for a moment."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.expected_conditions import staleness_of
    from selenium.webdriver.support.ui import WebDriverWait

    page = browser.find_element(By.TAG_NAME, "html")
    if control.tag_name == "button":
        control.click()
    else:
        control.submit()
    WebDriverWait(browser, BROWSER_WAIT_SECONDS).until(staleness_of(page))


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


def test_filters_show_only_the_chosen_channel_and_trace(console, post, local):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    request = example("email-and-sms.json")
    trace_id = request["TraceId"]
    assert post(request).status_code == 202
    wait_until(lambda: len(outbox(local, trace_id)) == 2, "both messages sent")

    console.open()
    Select(console.find_element(By.ID, "channel")).select_by_visible_text("SMS")
    console.find_element(By.ID, "trace").send_keys(trace_id)
    console.find_element(By.ID, "address").send_keys("+1604")
    submit(console, console.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]"))

    [item] = on_page(console, "li.message", "the filtered outbox")
    assert (item.get_attribute("data-channel"), item.get_attribute("data-trace")) == (
        "SMS",
        trace_id,
    )
    bubble = item.find_element(By.CSS_SELECTOR, ".bubble")
    assert "****7303" in bubble.text
    assert "1 segment · GSM-7" in bubble.text
    console.find_element(By.ID, "channel").send_keys("EMAIL")  # by keyboard, as a person would
    console.find_element(By.ID, "address").clear()
    submit(console, console.find_element(By.ID, "trace"))
    [item] = on_page(console, "li.message[data-channel='EMAIL']", "the e-mail of the trace")
    assert item.get_attribute("data-trace") == trace_id


def test_a_failed_recipient_shows_its_attempts_and_its_dead_letter_is_redriven_once(
    console, post, local
):
    """Faults added on the faults page: one recipient rejected for good, one failing until
    the fault is cleared; its dead letter redriven from the DLQ page reaches it once."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    rejected = f"rejected-{uuid.uuid4().hex[:8]}@example.com"
    failing = f"failing-{uuid.uuid4().hex[:8]}@example.com"
    request = example("email-only.json")
    request["Addresses"] = {rejected: {"ChannelType": "EMAIL"}, failing: {"ChannelType": "EMAIL"}}
    trace_id = request["TraceId"]
    try:
        for address, error in ((rejected, "reject"), (failing, "5xx")):
            console.open("faults")
            Select(console.find_element(By.ID, "fault-channel")).select_by_value("EMAIL")
            Select(console.find_element(By.ID, "fault-error")).select_by_value(error)
            console.find_element(By.ID, "fault-address").send_keys(address)
            console.find_element(By.ID, "add-fault").click()
            assert f"EMAIL {address} {error}" in on_page(console, ".notice", "added")[0].text
        assert post(request).status_code == 202

        letter = f"li.letter[data-trace='{trace_id}']"
        wait_until(lambda: reload(console, "dlq", letter), "the dead letter", DEADLINE)
        assert console.find_element(By.CSS_SELECTOR, f"{letter} .recipients").text == failing

        console.find_element(By.CSS_SELECTOR, f"{letter} h2 a").click()
        shown = {
            item.get_attribute("data-address"): item.text
            for item in on_page(console, "article.recipient", "the trace's recipients")
        }
        assert "REJECTED (1 attempt)" in shown[rejected]
        assert "ProviderRejected" in shown[rejected]
        assert "TransientError" not in shown[rejected]  # each recipient's own attempts' errors
        assert "FAILED (5 attempts)" in shown[failing]
        assert "attempt 5" in shown[failing]
        assert "TransientError x5" in shown[failing]
        assert "InternalFailure: injected 5xx" in shown[failing]
        assert ":execution:" in console.find_element(By.CSS_SELECTOR, ".execution .arn").text

        console.open("faults")
        console.find_element(By.ID, "clear-faults").click()
        on_page(console, "#no-faults", "no faults left")
        console.open("dlq")
        console.find_element(By.CSS_SELECTOR, f"{letter} button.redrive-one").click()
        assert "moved dead letter" in on_page(console, ".notice", "the redrive")[0].text
        assert not console.find_elements(By.CSS_SELECTOR, letter)
    finally:
        requests.delete(f"{local.http.url}/_local/faults", timeout=10)

    wait_until(lambda: outbox(local, trace_id), "the redriven e-mail sent", DEADLINE)
    wait_until(
        lambda: trace_status(local, trace_id) not in (None, "RUNNING", "FAILED"),
        "the redriven trace ended",
        DEADLINE,
    )
    assert [m["to"] for m in outbox(local, trace_id)] == [failing]


def reload(browser: Any, path: str, css: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    browser.open(path)
    return browser.find_elements(By.CSS_SELECTOR, css)


def test_a_template_is_rendered_by_the_send_paths_compose_with_sample_values(console):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    console.open("templates")
    console.find_element(By.LINK_TEXT, "alert-template").click()
    [bubble] = on_page(console, ".preview .bubble", "the SMS preview")
    assert "Alert: Your [productName] account ending in [membershipNumber]" in bubble.text
    assert "1 segment · GSM-7" in bubble.text

    Select(console.find_element(By.ID, "preview-channel")).select_by_value("EMAIL")
    submit(console, console.find_element(By.CSS_SELECTOR, ".card form button[type=submit]"))
    [refused] = on_page(console, "#preview-refused", "the e-mail refused")
    assert refused.text == "InvalidMessage: no Subject in the request or template alert-template"

    console.find_element(By.ID, "substitutions").clear()
    submit(console, console.find_element(By.CSS_SELECTOR, ".card form button[type=submit]"))
    [refused] = on_page(console, "#preview-refused", "every missing variable named")
    assert refused.text == (
        "MissingVariable: no value for: accountBalance, membershipNumber, productName"
    )
