"""Screenshots taken by the tours (headless Chromium, 1280x800), for the README.

A tour step made by ``screenshot(name, trigger)`` (``static/tests/tours/omni_screenshot.js``) logs
``omni-screenshot:<name>`` and waits. :class:`OmniTourScreenshots` (mixed into an ``HttpCase``)
answers: with ``OMNI_SCREENSHOTS`` set it asks Chromium for the page (DevTools
``Page.captureScreenshot``), writes ``<name>.png`` into that folder (``1``: the repository's
``docs/screenshots/``) and then lets the tour go on; without it, it lets the tour go on at once, so
CI runs the same steps and writes no file.

    OMNI_SCREENSHOTS=1 python3 tests/run_tests.py --odoo-only --tags /omni_connector_shopify:TestToursConnect
"""

import base64
import json
import logging
import os
from pathlib import Path
from unittest.mock import patch

from odoo.tests.common import ChromeBrowser

_logger = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[2]
SIGNAL = "omni-screenshot:"


def screenshot_dir():
    """The folder the screenshots go to, or None (``OMNI_SCREENSHOTS`` unset or empty)."""
    value = os.environ.get("OMNI_SCREENSHOTS", "").strip()
    if not value or value == "0":
        return None
    folder = REPO / "docs" / "screenshots" if value == "1" else Path(value)
    if not folder.is_absolute():
        folder = REPO / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _answer(browser, name):
    browser._websocket_send("Runtime.evaluate", params={
        "expression": f"document.body.dataset.omniShot = {json.dumps(name)}"})


def _capture(browser, name, folder):
    """Ask Chromium for the page; write the PNG and answer the tour once it arrives."""

    def written(future):
        try:
            data = future.result(timeout=0)["data"]
            (folder / f"{name}.png").write_bytes(base64.b64decode(data))
            _logger.info("tour screenshot %s written", folder / f"{name}.png")
        except Exception:  # the tour goes on; the missing file is the sign
            _logger.exception("tour screenshot %s failed", name)
        _answer(browser, name)

    future = browser._websocket_send("Page.captureScreenshot", params={"format": "png"}, with_future=True)
    if future is None:
        return
    future.add_done_callback(written)


class OmniTourScreenshots:
    """Mixin for an ``HttpCase`` whose tours take screenshots: a 1280x800 window, and the answer
    to the tour's ``omni-screenshot:<name>`` signals (see the module's doc)."""

    browser_size = "1280x800"

    def start_tour(self, url_path, tour_name, step_delay=None, **kwargs):
        folder = screenshot_dir()
        original = ChromeBrowser._handle_console

        def handle_console(browser, type, args=None, stackTrace=None, **kw):
            original(browser, type, args=args, stackTrace=stackTrace, **kw)
            first = (args or [{}])[0]
            text = first.get("value") if isinstance(first, dict) else None
            if type == "log" and isinstance(text, str) and text.startswith(SIGNAL):
                name = text[len(SIGNAL):].strip()
                if folder is None:
                    _answer(browser, name)
                else:
                    _capture(browser, name, folder)

        with patch.object(ChromeBrowser, "_handle_console", handle_console):
            return super().start_tour(url_path, tour_name, step_delay=step_delay, **kwargs)
