"""The shared action editor, as the survey builder uses it: any kind per choice, parsed in page order, validated
with the row at fault, shown again on edit."""

from __future__ import annotations

from sqlmodel import select
from werkzeug.datastructures import MultiDict

from crm.actions import forms as action_forms
from crm.db import get_engine, session_scope
from surveys import actions as survey_actions
from surveys.models import SurveyChoice
from tests.console_helpers import post_form, signed_in_client
from tests.factories import make_tag
from tests.surveys.helpers import build_survey, single
from tests.surveys.test_console import new_survey, question_data


def test_rows_are_read_in_submitted_order_with_their_kind_s_params_only():
    form = MultiDict(
        [
            ("actions-3-type", "mark_attention"),
            ("actions-3-add_tag-tag_id", "9"),  # a hidden kind's input: ignored
            ("actions-3-mark_attention-state", "done"),
            ("actions-0-type", "add_tag"),
            ("actions-0-add_tag-tag_id", "4"),
            ("actions-1-type", ""),  # the empty row
        ]
    )
    assert action_forms.parse_actions(form) == [
        {"type": "mark_attention", "state": "done"},
        {"type": "add_tag", "tag_id": "4"},
    ]


def choice_actions(app, question_id: int) -> list[list[dict]]:
    with session_scope(get_engine(app)) as session:
        rows = session.exec(
            select(SurveyChoice).where(SurveyChoice.question_id == question_id).order_by(SurveyChoice.position)
        )
        return [survey_actions.parse(choice.actions) for choice in rows]


def test_the_survey_builder_offers_every_kind_through_the_editor(app):
    client = signed_in_client(app, "editor")
    vip = make_tag(app, "VIP")
    other = build_survey(app, single("Q", "A", "B"), title="再来店アンケート")
    survey_id = new_survey(client)
    data = question_data()
    data.update(
        {
            "choices-0-add_tag": str(vip),
            "choice0-actions-0-type": "start_survey",
            "choice0-actions-0-start_survey-survey_id": str(other),
            "choice0-actions-1-type": "mark_attention",
            "choice0-actions-1-mark_attention-state": "needed",
        }
    )
    path = f"/surveys/{survey_id}/questions/new"
    page = client.get(path).get_data(as_text=True)
    assert "要対応にする" in page and "アンケートを始める" in page and 'name="choice12-actions-0-type"' in page
    assert post_form(client, path, data, path).status_code == 302
    with session_scope(get_engine(app)) as session:
        question_id = session.exec(select(SurveyChoice.question_id).order_by(SurveyChoice.id.desc())).first()
    assert choice_actions(app, question_id)[0] == [
        {"type": "add_tag", "tag_id": vip},
        {"type": "start_survey", "survey_id": other},
        {"type": "mark_attention", "state": "needed"},
    ]
    edit = client.get(f"/surveys/{survey_id}/questions/{question_id}/edit").get_data(as_text=True)
    assert f'<option value="{other}" selected>再来店アンケート</option>' in edit
    assert '<option value="needed" selected>要対応にする</option>' in edit

    data["choice0-actions-1-mark_attention-state"] = ""
    refused = post_form(client, f"/surveys/{survey_id}/questions/{question_id}/edit", data, path)
    assert refused.status_code == 400
    assert "選択肢「Weekly」: アクション2: 選んでください。" in refused.get_data(as_text=True)
