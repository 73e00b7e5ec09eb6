"""The product's core loop across features: a rich-menu button starts a survey, the answer tags the friend,
and the worker links the friend to the tag's rich menu, all through the LINE simulator."""

from crm.db import get_engine, session_scope
from crm.line.runtime import line_client
from crm.richmenus.jobs import apply_rich_menu_relinks
from surveys import rich_menu_survey_choices
from surveys.chat_messages import start_data
from tests.console_helpers import signed_in_client
from tests.factories import friend_id_of, make_tag
from tests.richmenus.helpers import menu_row, post_action, publish, ready_menu
from tests.surveys.helpers import bot_messages, build_survey, single, tag_names


def test_rich_menu_survey_answer_tags_the_friend_and_switches_their_menu(app, sim, crm_server):
    admin = signed_in_client(app, "admin", locale="en")
    vip = make_tag(app, "VIP")
    survey_id = build_survey(app, single("会員になりますか？", "はい", "いいえ"), title="会員アンケート")
    with session_scope(get_engine(app)) as session:
        assert ("会員アンケート", start_data(survey_id)) in rich_menu_survey_choices(session)
    # the answer "はい" adds the VIP tag
    survey_id = build_survey(
        app, single("VIP会員になりますか？", "はい", "いいえ", はい={"add_tag_id": vip}), title="VIPアンケート"
    )
    base = ready_menu(
        admin, name="Base", actions=[("postback", start_data(survey_id)), ("uri", "https://example.com/")]
    )
    assert publish(admin, base, default=True).status_code == 302
    vip_menu = ready_menu(admin, name="VIP")
    assert publish(admin, vip_menu).status_code == 302
    assert post_action(admin, "/richmenus/rules", tag=vip, menu=vip_menu).status_code == 302

    user = sim.create_user("花子")
    sim.follow(user)
    assert sim.rich_menu(user)["richMenuId"] == menu_row(app, base).line_menu_id
    assert sim.tap_rich_menu(user, 0)["status"] == 200
    question = bot_messages(sim, user)[-1]
    yes = next(item["action"] for item in question["quickReply"]["items"] if item["action"]["label"] == "はい")
    assert sim.tap_action(user, yes)["status"] == 200
    assert tag_names(app, friend_id_of(app, user)) == {"VIP"}

    assert apply_rich_menu_relinks(get_engine(app), line_client(app)) == 1
    assert sim.rich_menu(user)["richMenuId"] == menu_row(app, vip_menu).line_menu_id
    assert apply_rich_menu_relinks(get_engine(app), line_client(app)) == 0
