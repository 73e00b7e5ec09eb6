"""Links in bot text messages are tappable in the simulator, as LINE makes them, and the rest stays escaped."""

from __future__ import annotations

import pytest
import requests

from linesim.text_links import linkify

A = '<a href="{0}" target="_blank" rel="noopener noreferrer">{0}</a>'


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("no link here", "no link here"),
        ("https://example.com/a?b=1", A.format("https://example.com/a?b=1")),
        (
            "詳しくは https://shop.example/r/abc をご覧ください",
            "詳しくは " + A.format("https://shop.example/r/abc") + " をご覧ください",
        ),
        ("こちら→https://shop.example/x。", "こちら→" + A.format("https://shop.example/x") + "。"),
        ("「https://shop.example/y」", "「" + A.format("https://shop.example/y") + "」"),
        ("see http://a.example/p.", "see " + A.format("http://a.example/p") + "."),
        ("(http://a.example/q)", "(" + A.format("http://a.example/q") + ")"),
        (
            "two\nhttps://a.example/1\nhttps://b.example/2",
            "two\n" + A.format("https://a.example/1") + "\n" + A.format("https://b.example/2"),
        ),
        (
            "<b>bold</b> https://a.example/?x=1&y=2",
            "&lt;b&gt;bold&lt;/b&gt; " + A.format("https://a.example/?x=1&amp;y=2"),
        ),
        ("javascript:alert(1) ftp://a.example", "javascript:alert(1) ftp://a.example"),
        ('https://a.example/"onmouseover=alert(1)', A.format("https://a.example/") + "&#34;onmouseover=alert(1)"),
        (None, ""),
    ],
)
def test_urls_become_links_and_everything_else_is_escaped(text, html):
    assert str(linkify(text)) == html


def test_a_pushed_text_shows_its_link_in_the_chat(sim_url, line_api, friend):
    line_api.post(
        "/v2/bot/message/push",
        {"to": friend, "messages": [{"type": "text", "text": "ご予約はこちら\nhttps://shop.example/r/t0k3n <script>"}]},
    )
    fragment = requests.get(f"{sim_url}/chat/{friend}/panel", timeout=10).text
    assert A.format("https://shop.example/r/t0k3n") in fragment
    assert "&lt;script&gt;" in fragment and "<script>" not in fragment
