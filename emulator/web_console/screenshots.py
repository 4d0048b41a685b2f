"""`make screenshots`: every console page, as docs/local-stack.md shows it, from a real run.

A local stack of its own (free ports, so `make run` may keep running) is given something to
show: an e-mail, texts, a WhatsApp message and a call; a recipient rejected and one dead-
lettered by injected faults; a small job with a bad row. Then headless Chromium (the
browser tests' driver) saves each page, 1000 CSS pixels wide, to docs/images/console-*.png.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from cli.api import LOCAL_IDENTITY
from cli.jobs import JobsApi, start_job
from cli.target import Context, target_from_info
from emulator import console
from emulator.local import EVENTS, LOCAL_JWT_SECRET, LocalStack
from emulator.web_console.browser import headless_chromium, missing

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
WIDTH = 1000
PHONE_WIDTH = 390
MAX_HEIGHT = 1500  # a long page is cut here: the top says what the page is
DEADLINE_SECONDS = 60
JOB_ROWS = 12  # and one more in error
WELCOME_HTML = (
    "<div style='font-family:sans-serif;max-width:32rem'>"
    "<h1 style='color:#0b5fbf'>Welcome, {name}!</h1>"
    "<p>Your account <b>{account}</b> is ready. Confirm your address to start.</p>"
    "<p><a href='#' style='background:#0b5fbf;color:#fff;padding:.5rem 1rem;"
    "border-radius:4px;text-decoration:none'>Confirm my address</a></p></div>"
)


def main() -> int:
    why_not = missing()
    if why_not:
        print(f"make screenshots: no browser: {why_not}", file=sys.stderr)
        return 1
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=IMAGES, help=f"default {IMAGES}")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    console.configure("WARNING")
    local = LocalStack.start().seed_demo().serve()
    try:
        trace_id = stage(local)
        shoot(local.http.url + "/_console/", trace_id, out)
    finally:
        local.stop()
    return 0


def stage(local: LocalStack) -> str:
    """Send what the pages show (the newest, on top of the outbox, last); the TraceId of the
    one with a failed recipient."""
    api = Api(local)
    api.job()
    wait(lambda: len(local.providers.sent()) >= JOB_ROWS, "the job's texts sent")
    api.add_fault({"channel": "EMAIL", "error": "reject", "address": "old@example.org"})
    api.add_fault({"channel": "EMAIL", "error": "5xx", "address": "ops@example.com"})
    failed = api.send(
        "email-only.json",
        Addresses={
            "old@example.org": {"ChannelType": "EMAIL"},
            "ops@example.com": {"ChannelType": "EMAIL"},
        },
    )
    wait(lambda: api.dead_lettered(failed), "the failed recipient dead-lettered")
    requests.delete(f"{local.http.url}/_local/faults", timeout=10)
    for event in ("voice-code.json", "sms-inline.json", "whatsapp-invitation.json"):
        api.send(event)
        time.sleep(0.3)  # in this order in the outbox
    welcome = {
        "FromAddress": "hello@example.com",
        "Subject": "Welcome to Example, {name}",
        "HtmlBody": WELCOME_HTML,
        "Substitutions": {"name": "Jane", "account": "ACME-1042"},
    }
    api.send("email-only.json", EmailMessage=welcome)
    wait(lambda: local.providers.sent()[-1].channel == "EMAIL", "the welcome e-mail sent")
    api.add_fault({"channel": "SMS", "error": "throttle", "rate": 0.2})
    return failed


class Api:
    """The stack's API and control API as the banner's token and the CLI call them."""

    def __init__(self, local: LocalStack) -> None:
        self.local = local
        self.url = local.http.url
        self.token = LOCAL_IDENTITY.token(LOCAL_JWT_SECRET)

    def send(self, event: str, **changes: Any) -> str:
        body = json.loads((EVENTS / event).read_text()) | changes
        body["TraceId"] = f"{Path(event).stem}-{int(time.time() * 1000) % 100000}"
        headers = {"Authorization": f"Bearer {self.token}", "x-api-key": self.local.api_key}
        answer = requests.post(self.url + "/", json=body, headers=headers, timeout=30)
        answer.raise_for_status()
        return body["TraceId"]

    def add_fault(self, spec: dict[str, Any]) -> None:
        requests.post(f"{self.url}/_local/faults", json=spec, timeout=10).raise_for_status()

    def job(self) -> None:
        info = requests.get(f"{self.url}/_local/stack", timeout=10).json()
        ctx = Context(None, self.url, target_from_info(self.url, info))
        jobs = JobsApi.of(ctx, argparse.Namespace(sub=None, customer_id=None))
        rows = "phone number,productName,membershipNumber,accountBalance\n" + "".join(
            f"+1604555{n:04d},CHEQUING,****{n:04d},{n}.00\n" for n in range(1, JOB_ROWS + 1)
        )
        request = {
            "Name": "low-balance-march.csv",
            "ChannelType": "SMS",
            "SMSMessage": {"TemplateName": "alert-template", "OriginationNumber": "pool-1"},
        }
        start_job(jobs, request, (rows + "not-a-number,X,1,1\n").encode(), "low-balance-march")

    def dead_lettered(self, trace_id: str) -> bool:
        page = requests.get(f"{self.url}/_console/dlq", timeout=30).text
        return f'data-trace="{trace_id}"' in page


def wait(check: Callable[[], Any], what: str) -> None:
    end = time.monotonic() + DEADLINE_SECONDS
    while not check():
        if time.monotonic() > end:
            raise SystemExit(f"make screenshots: {what} did not happen in {DEADLINE_SECONDS} s")
        time.sleep(0.5)


PAGES = (
    ("outbox", "", WIDTH),
    ("outbox-phone", "", PHONE_WIDTH),
    ("trace", "traces/{trace}", WIDTH),
    ("dlq", "dlq", WIDTH),
    ("jobs", "jobs", WIDTH),
    ("faults", "faults", WIDTH),
    ("templates", "templates?name=alert-template", WIDTH),
)


def shoot(console_url: str, trace_id: str, out: Path) -> None:
    driver = headless_chromium(WIDTH, 800)
    try:
        for name, path, width in PAGES:
            driver.set_window_size(width, 400)  # shorter than any page: its height is the page's
            driver.get(console_url + path.format(trace=trace_id))
            time.sleep(0.5)  # the iframes' srcdoc and the outbox's first poll
            page, frame = driver.execute_script(
                "return [document.documentElement.scrollHeight,"
                " window.outerHeight - window.innerHeight]"
            )
            driver.set_window_size(width, min(int(page), MAX_HEIGHT) + int(frame))
            target = out / f"console-{name}.png"
            target.write_bytes(driver.get_screenshot_as_png())
            print(f"wrote {target}")
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())
