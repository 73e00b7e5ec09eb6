"""Security headers on every page: a Content-Security-Policy the pages' own scripts satisfy (inline blocks carry
the request's nonce), no framing, no sniffing, HSTS over HTTPS; public pages (survey form, /r/) included."""

import re
from pathlib import Path

import pytest

from tests.console_helpers import signed_in_client

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
INLINE_BLOCK = re.compile(r"<(script|style)\b([^>]*)>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)


def _nonce(response) -> str:
    policy = response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy.split("style-src-attr")[0], "scripts and style blocks need the nonce"
    return re.search(r"'nonce-([^']+)'", policy).group(1)


def _assert_inline_blocks_carry(html: str, nonce: str) -> None:
    for tag, attributes in INLINE_BLOCK.findall(html):
        if "src=" in attributes or "application/json" in attributes:
            continue
        assert f'nonce="{nonce}"' in attributes, f"<{tag}{attributes}> has no nonce"
    assert not EVENT_HANDLER.search(html), "inline event handlers do not run under the policy"


@pytest.mark.parametrize("path", sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html")))
def test_templates_have_no_inline_code_without_a_nonce(path):
    source = (TEMPLATES / path).read_text(encoding="utf-8")
    for tag, attributes in INLINE_BLOCK.findall(source):
        if "src=" in attributes or "application/json" in attributes:
            continue
        assert "csp_nonce()" in attributes, f'{path}: <{tag}{attributes}> needs nonce="{{{{ csp_nonce() }}}}"'
    assert not EVENT_HANDLER.search(source), f"{path}: move the inline event handler into a static script"


def test_every_console_page_without_parameters_satisfies_the_policy(app):
    client = signed_in_client(app, "admin")
    rules = [r for r in app.url_map.iter_rules() if "GET" in r.methods and not r.arguments]
    pages = [r.rule for r in rules if not r.rule.startswith(("/api", "/static", "/callback", "/healthz"))]
    checked = 0
    for path in pages:
        response = client.get(path)
        if response.mimetype != "text/html" or response.status_code != 200:
            continue
        _assert_inline_blocks_carry(response.get_data(as_text=True), _nonce(response))
        checked += 1
    assert checked >= 20


def test_headers_on_a_console_page(app):
    response = app.test_client().get("/login")
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy and "object-src 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers


def test_each_response_gets_a_fresh_nonce(app):
    client = app.test_client()
    assert _nonce(client.get("/login")) != _nonce(client.get("/login"))


def test_hsts_over_https(app):
    response = app.test_client().get("/login", base_url="https://crm.example.com")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


@pytest.mark.parametrize("path", ["/r/unknown-token", "/s/unknown-token"])
def test_public_pages_get_the_same_policy(app, path):
    response = app.test_client().get(path)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    _assert_inline_blocks_carry(response.get_data(as_text=True), _nonce(response))
