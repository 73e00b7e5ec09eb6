"""The web form: a signed, expiring personal link; the same answers and actions as the chat; nothing stored
for a tampered, expired or forged submission."""

import re

from itsdangerous import URLSafeTimedSerializer

from crm.db import get_engine, session_scope
from crm.fields import service as fields
from crm.friends import service as friends
from crm.timeutil import utcnow
from surveys import builder
from surveys.chat_messages import start_data
from surveys.views import webform
from tests.factories import make_tag
from tests.surveys.helpers import (
    EDITOR,
    answers,
    build_survey,
    english_friend,
    free,
    last_message,
    multiple,
    responses,
    single,
    tag_names,
)

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
KEY = re.compile(r'name="submission_key"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="submission_key"')
CHOICE = re.compile(r'name="q(\d+)" value="(\d+)"[^>]*>\s*<span>([^<]+)</span>')


def form_fields(html: str) -> dict:
    key = KEY.search(html)
    return {"csrf_token": CSRF.search(html).group(1), "submission_key": key.group(1) or key.group(2)}


def choice_values(html: str) -> dict[str, tuple[str, str]]:
    """label → (input name, value) of the form's radio buttons and checkboxes."""
    return {label: (f"q{qid}", value) for qid, value, label in CHOICE.findall(html)}


def text_name(html: str) -> str:
    return re.search(r'<textarea name="(q\d+)"', html).group(1)


def define_field(app, key="birth_month", field_type="number") -> int:
    with session_scope(get_engine(app)) as session:
        return fields.create_definition(
            session, spec=fields.FieldSpec(key=key, label="Birth month", field_type=field_type), actor=EDITOR
        ).id


def field_value(app, friend_id: int, field_id: int):
    with session_scope(get_engine(app)) as session:
        row = session.get(fields.FieldValue, (friend_id, field_id))
        return None if row is None else row.value


def test_link_in_chat_then_answer_in_the_browser(app, sim, crm_server):
    member = make_tag(app, "member")
    month = define_field(app)
    survey_id = build_survey(
        app,
        single("Member?", "Yes", "No", Yes={"add_tag_id": member}),
        multiple("Interests", "Food", "Fashion", "Travel"),
        free("Birth month (1-12)", save_field_id=month),
        use_web_form=True,
        intro="Please fill in our form:",
        completion_message="Done, thanks!",
    )
    user, friend = english_friend(sim, app)
    sim.postback(user, start_data(survey_id))
    text = last_message(sim, user)["text"]
    assert text.startswith("Please fill in our form:\nhttp://127.0.0.1:5000/s/")
    path = "/s/" + text.rsplit("/s/", 1)[1]

    client = app.test_client()
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="viewport"' in html and "Member?" in html
    options = choice_values(html)
    data = {**form_fields(html), options["Yes"][0]: options["Yes"][1], text_name(html): "april"}
    data[options["Food"][0]] = [options["Food"][1], options["Travel"][1]]
    refused = client.post(path, data=data)
    assert refused.status_code == 400 and "enter a number such as 42" in refused.get_data(as_text=True)
    assert responses(app, friend) == []

    data[text_name(html)] = "4"
    done = client.post(path, data=data)
    assert done.status_code == 200 and "Done, thanks!" in done.get_data(as_text=True)
    [response] = responses(app, friend)
    assert (response.channel, response.status) == ("web", "completed")
    assert sorted(a.text or "" for a in answers(app, friend)) == ["", "", "", "4"]
    assert tag_names(app, friend) == {"member"}
    assert field_value(app, friend, month) == "4"

    again = client.post(path, data=data)  # the same form sent twice stores nothing more
    assert again.status_code == 200 and len(responses(app, friend)) == 1
    assert "already answered" in client.get(path).get_data(as_text=True)


def test_required_answers_are_checked_and_typed_answers_kept(app, sim, crm_server):
    survey_id = build_survey(app, single("Pick one", "A", "B"), free("Say something"), use_web_form=True)
    user, friend = english_friend(sim, app)
    path = webform.link_for(app, friend_id=friend, survey_id=survey_id).split("5000", 1)[1]
    client = app.test_client()
    html = client.get(path).get_data(as_text=True)
    response = client.post(path, data={**form_fields(html), text_name(html): "kept text"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "Choose an answer." in body and "kept text" in body
    assert responses(app, friend) == []


def test_tampered_link_gets_a_clear_page_and_stores_nothing(app, sim, crm_server):
    survey_id = build_survey(app, single("Pick one", "A", "B"))
    user, friend = english_friend(sim, app)
    other_user, other = english_friend(sim, app, "Taro")
    token = webform.make_token(app, friend_id=friend, survey_id=survey_id)
    client = app.test_client()
    html = client.get(f"/s/{token}").get_data(as_text=True)
    value = choice_values(html)["A"]
    forged = URLSafeTimedSerializer("not-our-secret", salt=webform.SALT).dumps([other, survey_id])
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), forged, "nonsense"):
        page = client.get(f"/s/{bad}")
        assert page.status_code == 400 and "このリンクは無効です" in page.get_data(as_text=True)
        posted = client.post(f"/s/{bad}", data={**form_fields(html), value[0]: value[1]})
        assert posted.status_code == 400
    assert responses(app, friend) == [] and responses(app, other) == []


def test_expired_link_gets_a_clear_page_and_stores_nothing(make_app):
    app = make_app(extra={"SURVEY_LINK_MAX_AGE_SECONDS": -1})
    survey_id = build_survey(app, single("Pick one", "A", "B"))
    with session_scope(get_engine(app)) as session:
        friend = friends.follow(session, line_user_id="U" + "e" * 32, at=utcnow())
    token = webform.make_token(app, friend_id=friend, survey_id=survey_id)
    client = app.test_client()
    page = client.get(f"/s/{token}")
    assert page.status_code == 410 and "このリンクは有効期限切れです" in page.get_data(as_text=True)
    fresh = webform.make_token(make_app(), friend_id=friend, survey_id=survey_id)
    html = make_app().test_client().get(f"/s/{fresh}").get_data(as_text=True)
    name, value = choice_values(html)["A"]
    posted = client.post(f"/s/{token}", data={"submission_key": form_fields(html)["submission_key"], name: value})
    assert posted.status_code == 410
    assert responses(app, friend) == []


def test_a_post_without_the_csrf_token_stores_nothing(app, sim, crm_server):
    survey_id = build_survey(app, single("Pick one", "A", "B"))
    user, friend = english_friend(sim, app)
    token = webform.make_token(app, friend_id=friend, survey_id=survey_id)
    client = app.test_client()
    html = client.get(f"/s/{token}").get_data(as_text=True)
    name, value = choice_values(html)["A"]
    response = client.post(f"/s/{token}", data={"submission_key": form_fields(html)["submission_key"], name: value})
    assert response.status_code == 400 and "The form has expired" in response.get_data(as_text=True)
    assert responses(app, friend) == []


def test_a_closed_survey_refuses_the_form(app, sim, crm_server):
    survey_id = build_survey(app, single("Pick one", "A", "B"))
    user, friend = english_friend(sim, app)
    token = webform.make_token(app, friend_id=friend, survey_id=survey_id)
    with session_scope(get_engine(app)) as session:
        builder.set_open(session, survey_id=survey_id, is_open=False, actor=EDITOR)
    page = app.test_client().get(f"/s/{token}")
    assert page.status_code == 410 and "not open for answers" in page.get_data(as_text=True)


def test_an_erased_friends_link_gets_the_expired_page_and_stores_nothing(app):
    from crm.privacy.service import erase_friend
    from surveys import web_answers
    from surveys.errors import SurveyError
    from tests.factories import SYSTEM

    survey_id = build_survey(app, single("Pick one", "A", "B"))
    with session_scope(get_engine(app)) as session:
        friend = friends.follow(session, line_user_id="U" + "f" * 32, at=utcnow())
    token = webform.make_token(app, friend_id=friend, survey_id=survey_id)
    client = app.test_client()
    html = client.get(f"/s/{token}").get_data(as_text=True)
    name, value = choice_values(html)["A"]
    with session_scope(get_engine(app)) as session:
        erase_friend(session, friend_id=friend, actor=SYSTEM)
    page = client.get(f"/s/{token}")
    assert page.status_code == 410 and "このリンクは有効期限切れです" in page.get_data(as_text=True)
    posted = client.post(f"/s/{token}", data={**form_fields(html), name: value})
    assert posted.status_code == 410 and "このリンクは有効期限切れです" in posted.get_data(as_text=True)
    with session_scope(get_engine(app)) as session:
        try:
            web_answers.submit(
                session, survey_id=survey_id, friend_id=friend, values={}, submission_key="k", at=utcnow()
            )
        except SurveyError as error:
            assert error.field == "closed"
        else:
            raise AssertionError("an erased friend's answers were accepted")
    assert responses(app, friend) == []
