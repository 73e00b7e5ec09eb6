"""The floor of any tracked-click redirect: a bare WSGI app that answers every GET with the CRM's 302 headers
and does nothing else (no database, no framework).

gunicorn bench.bare_redirect:app
"""

from __future__ import annotations

from crm.tracking.redirect import NO_STORE

LOCATION = "https://shop.example.jp/sale?utm_source=line"
HEADERS = [("Location", LOCATION), ("Content-Length", "0"), *NO_STORE.items()]


def app(_environ, start_response):
    """302 to a fixed destination."""
    start_response("302 Found", HEADERS)
    return [b""]
