"""Headless Debian chromium through playwright (never a downloaded browser); tests skip without it."""

import shutil
from contextlib import contextmanager

import pytest

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def chromium():
    """A launched browser; skips the test when chromium or playwright is missing."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip(
            "chromium is not installed (apt-get install chromium; .ci/run installs it in CI)"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is missing"
    )
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()
