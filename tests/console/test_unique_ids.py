"""Console pages never repeat an element id (labels, anchors and scripts find the wrong element otherwise)."""

import re

import pytest

from tests.console_helpers import signed_in_client
from tests.factories import make_broadcast, make_friend, make_scenario, make_tag, make_template

ID = re.compile(r'\sid="([^"]+)"')


@pytest.mark.db_agnostic  # page markup
def test_the_main_pages_have_unique_element_ids(app):
    friend_id = make_friend(app, display_name="山田 花子")
    make_tag(app, "VIP")
    broadcast_id = make_broadcast(app, [{"type": "text", "text": "冬のセール"}], status="draft")
    template_id = make_template(app)
    scenario_id = make_scenario(app, steps=[{"template_id": template_id}])
    client = signed_in_client(app, "admin", locale="ja")
    pages = [
        "/",
        "/friends",
        f"/friends/{friend_id}",
        "/tags",
        "/broadcasts",
        f"/broadcasts/{broadcast_id}",
        "/broadcasts/test-friends",
        "/templates",
        f"/templates/{template_id}",
        f"/templates/{template_id}/preview",
        "/scenarios",
        f"/scenarios/{scenario_id}",
        "/segments/new",
        "/audit",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        ids = ID.findall(response.get_data(as_text=True))
        assert sorted({i for i in ids if ids.count(i) > 1}) == [], path
