"""Broadcast pages as staff read them in a browser: messages keep their line breaks, at desktop and phone width."""

import pytest

from tests.browser.pages import sign_in
from tests.factories import make_broadcast, make_staff

TEXT = "冬のセールのお知らせ\n12月10日から\n全品20%オフ"


@pytest.mark.parametrize("width", [1366, 390])
def test_a_broadcasts_text_keeps_its_line_breaks(app, console_url, page, width):
    page.set_viewport_size({"width": width, "height": 900})
    broadcast_id = make_broadcast(app, [{"type": "text", "text": TEXT}], status="draft")
    sign_in(page, console_url, make_staff(app, "marketer"))
    page.goto(f"{console_url}/broadcasts/{broadcast_id}")
    bubble = page.locator(".preview-text").first
    lines = bubble.evaluate(
        """element => {
            const range = document.createRange();
            range.selectNodeContents(element);
            return new Set([...range.getClientRects()].map(rect => Math.round(rect.top))).size;
        }"""
    )
    assert lines >= 3, "each line of the message starts a new line on screen"
    assert bubble.inner_text() == TEXT
