"""A link in a message the CRM sends is tappable in the LINE simulator and opens through the CRM's tracked
redirect, as on a phone: the click is recorded for the friend and the visitor lands on the destination."""

from playwright.sync_api import expect
from sqlmodel import select

from crm.actions.engine import run_actions
from crm.db import get_engine, session_scope
from crm.tracking.models import LinkClick
from tests.factories import friend_id_of, make_template
from tests.surveys.helpers import replies_settled


def test_a_tapped_link_opens_through_the_crm_redirect(app, sim, simulator, crm_server, page):
    user_id = sim.create_user("さくら")
    assert sim.follow(user_id)["status"] == 200
    replies_settled()
    friend_id = friend_id_of(app, user_id)
    app.config["PUBLIC_BASE_URL"] = crm_server.url
    destination = f"{simulator.url}/?from=crm"
    template_id = make_template(app, [{"type": "text", "text": f"ご予約はこちら\n{destination}"}], name="予約案内")
    with app.app_context(), session_scope(get_engine(app)) as session:
        run_actions(
            session,
            friend_id=friend_id,
            actions=[{"type": "send_template", "template_id": template_id}],
            trigger_key="test:link",
            source="test",
        )
    replies_settled()

    page.goto(f"{simulator.url}/?user={user_id}")
    link = page.locator(".bubble.bot .text a").last
    expect(link).to_have_attribute("href", f"{crm_server.url}/r/" + link.get_attribute("href").rsplit("/", 1)[-1])
    with page.expect_popup() as popup_info:
        link.click()
    popup = popup_info.value
    popup.wait_for_load_state()
    assert popup.url == destination
    with session_scope(get_engine(app)) as session:
        clicks = session.exec(select(LinkClick.friend_id)).all()
    assert clicks == [friend_id]
