"""The edge helpers: one unit of work for view transactions, a domain error as a form error or an API error body,
and the one masking rule for names."""

from types import SimpleNamespace

import pytest
from flask import get_flashed_messages
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from wtforms import StringField

from crm.api.errors import domain_error, handle_domain_error
from crm.broadcasts.options import BroadcastError
from crm.console.forms import form_error
from crm.db import get_engine, get_session, unit_of_work
from crm.errors import N_, TranslatableError
from crm.i18n import message_of, messages_of
from crm.permissions import ROLES, masks_personal_data, visible_name
from crm.richmenus.layouts import RichMenuError
from crm.tags.admin import TagAdminError
from crm.tags.models import Tag

DUPLICATE = TagAdminError(
    "duplicate_name", N_("This name is already used (case and full-width/half-width are ignored)."), field="name"
)
DUPLICATE_JA = "この名前はすでに使われています"


def _tag_names(app) -> list[str]:
    with Session(get_engine(app)) as session:
        return list(session.exec(select(Tag.name).order_by(Tag.name)).all())


@pytest.fixture
def request_context(app):
    with app.test_request_context("/"):
        yield


class TagForm(FlaskForm):
    class Meta:
        csrf = False

    name = StringField()
    color = StringField()


# unit_of_work


def test_a_unit_of_work_commits_when_its_block_ends(app, request_context):
    with unit_of_work() as work:
        work.session.add(Tag(name="kept"))
    assert not work.failed and _tag_names(app) == ["kept"]


def test_an_error_in_the_block_rolls_back_and_propagates(app, request_context):
    with pytest.raises(RuntimeError), unit_of_work():
        get_session().add(Tag(name="lost"))
        get_session().flush()
        raise RuntimeError("boom")
    assert _tag_names(app) == []
    assert not get_session().new and not get_session().in_transaction()


def test_a_failing_commit_rolls_back_and_leaves_the_session_usable(app, request_context):
    with unit_of_work():
        get_session().add(Tag(name="twice"))
    with pytest.raises(IntegrityError), unit_of_work():
        get_session().add(Tag(name="other"))
        get_session().add(Tag(name="twice"))  # the unique name fails only when the commit flushes
    assert _tag_names(app) == ["twice"]
    with unit_of_work():
        get_session().add(Tag(name="after"))
    assert _tag_names(app) == ["after", "twice"]


def test_a_caught_domain_error_rolls_back_and_is_kept(app, request_context):
    with unit_of_work(TagAdminError) as work:
        get_session().add(Tag(name="lost"))
        get_session().flush()
        raise DUPLICATE
    assert work.failed and work.error is DUPLICATE
    assert _tag_names(app) == [] and get_flashed_messages() == []


def test_a_caught_domain_error_can_be_flashed_in_the_readers_language(app, request_context):
    with unit_of_work(TagAdminError, flash_error=True) as work:
        raise DUPLICATE
    assert work.failed
    [message] = get_flashed_messages()
    assert DUPLICATE_JA in message


def test_errors_not_caught_still_propagate(app, request_context):
    with pytest.raises(ValueError), unit_of_work(TagAdminError):
        raise ValueError("not a tag error")


def test_commit_on_error_keeps_what_was_written_before_the_refusal(app, request_context):
    with unit_of_work(RichMenuError, commit_on_error=True, flash_error=True) as work:
        get_session().add(Tag(name="call record"))
        raise RichMenuError.many([(N_("Choose a layout."), {}), (N_("Choose what the area does."), {})])
    assert work.failed and _tag_names(app) == ["call record"]
    assert len(get_flashed_messages()) == 2


# messages and form errors


def test_message_of_translates_nested_errors_and_every_problem(request_context):
    inner = TranslatableError(N_("Choose a layout."))
    outer = TranslatableError(N_("Area %(number)d: %(problem)s"), number=2, problem=inner)
    assert message_of(outer) == "エリア2: レイアウトを選んでください。"
    error = RichMenuError.many(
        [(N_("Area %(number)d: %(problem)s"), {"number": 1, "problem": (inner.msgid, {})}), (inner.msgid, {})]
    )
    assert messages_of(error) == ["エリア1: レイアウトを選んでください。", "レイアウトを選んでください。"]


def test_form_error_puts_the_message_on_the_field_the_error_names(request_context):
    form = TagForm()
    message = form_error(form, DUPLICATE)
    assert DUPLICATE_JA in message
    assert form.name.errors == [message] and form.color.errors == () and form.form_errors == []


def test_form_error_falls_back_to_the_default_field_then_to_the_whole_form(request_context):
    form = TagForm()
    folder_missing = TagAdminError("no_folder", N_("That folder no longer exists."), field="folder")
    form_error(form, folder_missing, "color")
    assert form.color.errors == [message_of(folder_missing)]
    form_error(form, TranslatableError(N_("Choose a layout.")))
    assert form.form_errors == [message_of(TranslatableError(N_("Choose a layout.")))]


# API errors


@pytest.mark.parametrize(
    ("error", "status", "code", "details"),
    [
        (DUPLICATE, 409, "duplicate_name", {"name": [str(DUPLICATE)]}),
        (TagAdminError("not_found", N_("Tag %(id)s does not exist."), id=7), 404, "not_found", {}),
        (BroadcastError(N_("Only a draft can be changed.")), 409, "conflict", {}),
        (
            BroadcastError(N_("Use a text, image, sticker or flex message."), field="messages", index=1),
            422,
            "invalid",
            {"messages[1]": ["Use a text, image, sticker or flex message."]},
        ),
        (TranslatableError(N_("Write something in the note.")), 422, "invalid", {}),
    ],
)
def test_a_domain_error_becomes_the_api_error_body(app, error, status, code, details):
    api_error = domain_error(error)
    assert (api_error.status, api_error.code, api_error.details) == (status, code, details)
    with app.test_request_context("/api/v1/tags"):
        response = handle_domain_error(error)
    assert response.status_code == status
    assert response.get_json() == {"error": {"code": code, "message": str(error), "details": details}}


def test_an_api_field_can_be_named_by_the_view(app):
    error = TranslatableError(N_("Write something in the note."))
    assert domain_error(error, field="body").details == {"body": ["Write something in the note."]}


# masking


@pytest.mark.parametrize("role", ROLES)
def test_visible_name_masks_the_name_for_roles_without_personal_data(role):
    friend = SimpleNamespace(display_name="山田太郎")
    expected = "山＊＊" if masks_personal_data(role) else "山田太郎"
    assert visible_name(friend, role) == expected
