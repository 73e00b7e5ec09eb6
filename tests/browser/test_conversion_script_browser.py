"""The conversion script across two origins in Chromium: a friend's click on a tracked link lands on the shop
(another origin) with a click id, which /cv.js keeps in the shop's own storage and reports from the thank-you
page to the CRM (CORS), once per order; a forged click id stored instead is refused."""

from __future__ import annotations

from flask import Flask, request
from playwright.sync_api import expect

from tests.conftest import LiveServer
from tests.conversions.helpers import conversions, make_point, tracked_path
from tests.factories import make_friend

THANKS = """<!doctype html><title>ご注文ありがとうございます</title><h1>ありがとうございました</h1>
<script src="{crm}/cv.js" data-point="{point}" data-value="4980" data-order="{order}"></script>"""


def shop_app(crm_url: str, settings: dict) -> Flask:
    """The shop's site: a landing page that loads the script, and a thank-you page that reports."""
    shop = Flask("shop")

    @shop.route("/lp")
    def landing():
        return f'<!doctype html><title>LP</title><a href="/thanks">購入する</a><script src="{crm_url}/cv.js"></script>'

    @shop.route("/thanks")
    def thanks():
        return THANKS.format(crm=crm_url, point=settings["point"], order=request.args.get("order", "S-1"))

    return shop


def reported(page) -> dict:
    """What the thank-you page's report was answered (once the script has run)."""
    page.wait_for_function("window.crmConversionResult !== undefined")
    return page.evaluate("window.crmConversionResult")


def test_a_click_then_a_purchase_on_another_origin_is_recorded_once(app, page):
    crm, settings = LiveServer(app), {}
    shop = LiveServer(shop_app(crm.url, settings))
    try:
        shop_origin = shop.url.replace("127.0.0.1", "localhost")  # another host and port: another origin
        settings["point"] = make_point(app, origins=shop_origin)
        friend_id = make_friend(app)
        page.goto(crm.url + tracked_path(app, friend_id, f"{shop_origin}/lp"))
        expect(page).to_have_title("LP")
        page.wait_for_load_state()
        assert "crm_click" not in page.url  # the script took it out of the address bar
        assert '"id"' in page.evaluate("localStorage.getItem('crm_click')")
        page.get_by_role("link", name="購入する").click()
        expect(page.get_by_role("heading")).to_have_text("ありがとうございました")
        assert reported(page) == {"status": "created"}
        page.reload()
        expect(page.get_by_role("heading")).to_have_text("ありがとうございました")
        assert reported(page) == {"status": "duplicate_order"}
        assert [(c.friend_id, c.value, c.source, c.order_id) for c in conversions(app)] == [
            (friend_id, 4980, "link", "S-1")
        ]
        assert page.context.cookies(crm.url) == []  # nothing of the CRM's is stored in the browser

        page.evaluate("localStorage.setItem('crm_click', JSON.stringify({id: 'AQ.AAAAAAAAAAAAAAAA', at: Date.now()}))")
        page.goto(f"{shop_origin}/thanks?order=S-2")
        expect(page.get_by_role("heading")).to_have_text("ありがとうございました")
        assert reported(page) == {"status": "refused"}
        assert len(conversions(app)) == 1
    finally:
        shop.stop()
        crm.stop()
