"""Debian's headless Chromium driven by Selenium: for the console's browser tests and its
screenshots (`make screenshots`), so both see the page a person would."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

# Debian's packages `chromium` and `chromium-driver` (their versions always match).
CHROMIUM = "chromium"
CHROMEDRIVER = "chromedriver"
INSTALL_HINT = "apt-get install -y chromium chromium-driver"


def missing() -> str | None:
    """Why no browser can be driven here (None: it can)."""
    absent = [name for name in (CHROMIUM, CHROMEDRIVER) if shutil.which(name) is None]
    if absent:
        return f"{' and '.join(absent)} not on PATH (as root: {INSTALL_HINT})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (make install)"
    return None


def headless_chromium(width: int = 1000, height: int = 800) -> WebDriver:
    """A Chromium WebDriver with a window of `width` x `height` CSS pixels, no GPU, no sandbox
    (CI runs as root, where Chromium's sandbox refuses to start)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which(CHROMIUM) or CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    # The driver Debian ships beside its Chromium: Selenium Manager never downloads one.
    service = Service(executable_path=shutil.which(CHROMEDRIVER) or CHROMEDRIVER)
    return webdriver.Chrome(options=options, service=service)
