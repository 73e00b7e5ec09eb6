"""The scenario builder service with the real segment checker, templates and fields: settings, steps, status."""

import json

import pytest
from sqlmodel import select

from crm.fields.models import FieldDefinition, FieldType
from crm.message_templates.models import MessageTemplate
from crm.scenarios import builder
from crm.scenarios.checks import ScenarioError
from crm.scenarios.models import (
    Enrolment,
    Scenario,
    ScenarioStatus,
    ScenarioStep,
    StepVariant,
    TimingKind,
    TriggerKind,
)
from crm.staff.models import AuditEntry
from crm.tags.models import Tag
from tests.broadcasts.helpers import add_friends, add_staff, db


def _world(session):
    actor = add_staff(session, "marketer", "m@example.com")
    templates = [MessageTemplate(name=f"T{i}", messages='[{"type": "text", "text": "hi"}]') for i in range(3)]
    tag = Tag(name="購入済")
    session.add_all([*templates, tag])
    session.flush()
    return actor, [template.id for template in templates], tag


def _scenario(session, actor, **settings):
    return builder.create_scenario(session, actor=actor, settings={"name": "ようこそ", **settings})


def _step(session, actor, scenario_id, template_id, **values):
    values = {"timing_kind": "elapsed", "delay_minutes": 60, "variants": [{"template_id": template_id}], **values}
    return builder.add_step(session, actor=actor, scenario_id=scenario_id, step=values)


def _actions(session):
    return [entry.action for entry in session.exec(select(AuditEntry).order_by(AuditEntry.id))]


def test_settings_are_checked_saved_and_audited(app):
    with db(app) as session:
        actor, _, tag = _world(session)
        scenario = _scenario(
            session,
            actor,
            trigger_kind="tag_added",
            trigger_ref_id=tag.id,
            control_percent=10,
            goal_tree={"type": "tag", "tag_id": tag.id},
            opt_out_keywords="配信停止\n 配信停止 \nストップ",
            window_start_minute=9 * 60,
            window_end_minute=21 * 60,
            exit_after_silent_steps="3",
        )
        assert (scenario.status, scenario.trigger_kind, scenario.trigger_ref_id) == ("draft", "tag_added", tag.id)
        assert scenario.opt_out_keywords == "配信停止\nストップ"
        assert json.loads(scenario.goal_tree) == {"type": "tag", "tag_id": tag.id}
        assert scenario.exit_after_silent_steps == 3
        builder.update_scenario(session, actor=actor, scenario_id=scenario.id, settings={"priority": 5})
        assert (scenario.priority, scenario.control_percent) == (5, 10)
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "scenario.updated")).one()
        assert (json.loads(entry.before), json.loads(entry.after)) == ({"priority": 0}, {"priority": 5})
        assert _actions(session)[-2:] == ["scenario.created", "scenario.updated"]


@pytest.mark.parametrize(
    "settings, field",
    [
        ({"name": " "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"description": "x" * 501}, "description"),
        ({"trigger_kind": "moon"}, "trigger_kind"),
        ({"trigger_kind": "tag_added", "trigger_ref_id": 999}, "trigger_ref_id"),
        ({"trigger_kind": "survey_answered", "trigger_ref_id": 1}, "trigger_ref_id"),
        ({"trigger_kind": "link_clicked", "trigger_ref_id": 999}, "trigger_ref_id"),
        ({"enrolment_rule": "twice"}, "enrolment_rule"),
        ({"control_percent": 51}, "control_percent"),
        ({"control_percent": -1}, "control_percent"),
        ({"priority": 101}, "priority"),
        ({"goal_tree": {"type": "tag", "tag_id": 999}}, "goal_tree"),
        ({"goal_days": 0}, "goal_days"),
        ({"exit_after_silent_steps": 0}, "exit_after_silent_steps"),
        ({"opt_out_keywords": "x" * 51}, "opt_out_keywords"),
        ({"window_start_minute": 540}, "window_start_minute"),
        ({"window_start_minute": 540, "window_end_minute": 1440}, "window_end_minute"),
        ({"window_start_minute": 540, "window_end_minute": 540}, "window_start_minute"),
    ],
)
def test_a_bad_setting_is_refused_on_its_field(app, settings, field):
    with db(app) as session:
        actor, _, _ = _world(session)
        with pytest.raises(ScenarioError) as refused:
            _scenario(session, actor, **settings)
        assert (refused.value.field, refused.value.code) == (field, "invalid")


def test_unblock_only_counts_for_the_friend_added_trigger(app):
    with db(app) as session:
        actor, _, _ = _world(session)
        added = _scenario(session, actor, trigger_kind="friend_added", include_unblocked=True)
        manual = _scenario(session, actor, include_unblocked=True)
        assert (added.include_unblocked, manual.include_unblocked) == (True, False)
        assert manual.trigger_kind == TriggerKind.MANUAL


def test_steps_are_numbered_and_each_timing_kind_keeps_only_its_own_values(app):
    with db(app) as session:
        actor, templates, _ = _world(session)
        date_field = FieldDefinition(key="booking", label="予約日", field_type=FieldType.DATE)
        session.add(date_field)
        session.flush()
        scenario = _scenario(session, actor)
        first = _step(session, actor, scenario.id, templates[0], at_minute=600, day_offset=3)
        second = _step(
            session,
            actor,
            scenario.id,
            templates[1],
            timing_kind="day_at",
            day_offset=3,
            at_minute=600,
            delay_minutes=5,
        )
        third = _step(
            session,
            actor,
            scenario.id,
            templates[2],
            timing_kind="field_relative",
            field_id=date_field.id,
            day_offset=-1,
            at_minute=1439,
        )
        assert [first.position, second.position, third.position] == [1, 2, 3]
        assert (first.timing_kind, first.delay_minutes, first.at_minute, first.day_offset) == ("elapsed", 60, None, 0)
        assert (second.timing_kind, second.delay_minutes, second.day_offset, second.at_minute) == ("day_at", 0, 3, 600)
        assert (third.field_id, third.day_offset, third.at_minute) == (date_field.id, -1, 1439)
        assert _actions(session).count("scenario.step_added") == 3


@pytest.mark.parametrize(
    "values, field",
    [
        ({"timing_kind": "weekly"}, "timing_kind"),
        ({"delay_minutes": -1}, "delay_minutes"),
        ({"delay_minutes": 365 * 24 * 60 + 1}, "delay_minutes"),
        ({"elapsed_from": "yesterday"}, "elapsed_from"),
        ({"timing_kind": "day_at", "at_minute": 1440}, "at_minute"),
        ({"timing_kind": "day_at", "at_minute": None}, "at_minute"),
        ({"timing_kind": "day_at", "at_minute": 600, "day_offset": 366}, "day_offset"),
        ({"timing_kind": "field_relative", "at_minute": 600}, "field_id"),
        ({"variants": []}, "variants"),
        ({"variants": [{"template_id": 999}]}, "variants"),
        ({"variants": [{"template_id": "T", "weight": 1}] * 5}, "variants"),
        ({"name": "x" * 101}, "step_name"),
        ({"condition_tree": {"type": "tag", "tag_id": 999}}, "condition_tree"),
    ],
)
def test_a_bad_step_is_refused_on_its_field(app, values, field):
    with db(app) as session:
        actor, templates, _ = _world(session)
        text_field = FieldDefinition(key="memo", label="メモ", field_type=FieldType.TEXT)
        session.add(text_field)
        session.flush()
        scenario = _scenario(session, actor)
        if values.get("timing_kind") == "field_relative":
            values["field_id"] = text_field.id  # a field that is not a date
        if values.get("variants") and values["variants"][0].get("template_id") == "T":
            values["variants"] = [{"template_id": templates[0], "weight": 1}] * 5
        with pytest.raises(ScenarioError) as refused:
            _step(session, actor, scenario.id, templates[0], **values)
        assert refused.value.field == field


def test_variants_get_labels_and_weights_and_an_archived_template_is_refused(app):
    with db(app) as session:
        actor, templates, _ = _world(session)
        scenario = _scenario(session, actor)
        step = _step(
            session,
            actor,
            scenario.id,
            None,
            variants=[{"template_id": templates[0], "weight": 70}, {"template_id": templates[1], "weight": "30"}],
        )
        rows = session.exec(select(StepVariant).where(StepVariant.step_id == step.id).order_by(StepVariant.label))
        assert [(v.label, v.weight, v.template_id) for v in rows] == [("A", 70, templates[0]), ("B", 30, templates[1])]
        two = [{"template_id": templates[0], "weight": 1}, {"template_id": templates[2], "weight": 0}]
        with pytest.raises(ScenarioError, match="weight"):
            _step(session, actor, scenario.id, None, variants=two)
        session.get(MessageTemplate, templates[2]).archived = True
        two[1]["weight"] = 5
        with pytest.raises(ScenarioError, match="variant B"):
            _step(session, actor, scenario.id, None, variants=two)


def test_a_condition_jumps_forward_only_to_an_existing_step(app):
    with db(app) as session:
        actor, templates, tag = _world(session)
        scenario = _scenario(session, actor)
        for _ in range(3):
            _step(session, actor, scenario.id, templates[0])
        first = builder.steps_of(session, scenario.id)[0]
        condition = {"condition_tree": {"type": "tag", "tag_id": tag.id}, "condition_otherwise": "jump"}
        for target in (1, 0, 4, None):
            with pytest.raises(ScenarioError) as refused:
                _step_update(session, actor, first, templates[0], jump_to_position=target, **condition)
            assert refused.value.field == "jump_to_position"
        _step_update(session, actor, first, templates[0], jump_to_position=3, **condition)
        assert (first.condition_otherwise, first.jump_to_position) == ("jump", 3)
        skip = _step_update(session, actor, first, templates[0], condition_otherwise="skip", jump_to_position=3)
        assert (skip.condition_tree, skip.condition_otherwise, skip.jump_to_position) == (None, "skip", None)


def _step_update(session, actor, step, template_id, **values):
    values = {"timing_kind": "elapsed", "variants": [{"template_id": template_id}], **values}
    return builder.update_step(session, actor=actor, step_id=step.id, step=values)


def test_moving_and_deleting_keep_positions_and_jumps_in_order(app):
    with db(app) as session:
        actor, templates, tag = _world(session)
        scenario = _scenario(session, actor)
        steps = [_step(session, actor, scenario.id, templates[0], name=f"S{i}") for i in range(1, 5)]
        condition = {"condition_tree": {"type": "tag", "tag_id": tag.id}, "condition_otherwise": "jump"}
        _step_update(session, actor, steps[0], templates[0], name="S1", jump_to_position=4, **condition)
        builder.move_step(session, actor=actor, step_id=steps[3].id, direction="up")  # S4 to 3: S1 jumps to 3
        names = lambda: [(s.name, s.position) for s in builder.steps_of(session, scenario.id)]  # noqa: E731
        assert names() == [("S1", 1), ("S2", 2), ("S4", 3), ("S3", 4)]
        assert steps[0].jump_to_position == 3
        with pytest.raises(ScenarioError, match="Step 1 jumps"):
            builder.delete_step(session, actor=actor, step_id=steps[3].id)
        builder.move_step(session, actor=actor, step_id=steps[3].id, direction="up")  # S4 to 2: S1 jumps to 2
        assert names() == [("S1", 1), ("S4", 2), ("S2", 3), ("S3", 4)]
        with pytest.raises(ScenarioError, match="Step 1 jumps"):  # S4 above S1 would be a jump backwards
            builder.move_step(session, actor=actor, step_id=steps[3].id, direction="up")
        with pytest.raises(ScenarioError, match="cannot move"):
            builder.move_step(session, actor=actor, step_id=steps[2].id, direction="down")
        builder.delete_step(session, actor=actor, step_id=steps[1].id)  # S2: S3 moves up
        assert names() == [("S1", 1), ("S4", 2), ("S3", 3)]
        assert steps[0].jump_to_position == 2
        assert {"scenario.step_moved", "scenario.step_deleted"} <= set(_actions(session))


def test_status_moves_and_a_scenario_without_steps_cannot_start(app):
    with db(app) as session:
        actor, templates, _ = _world(session)
        scenario = _scenario(session, actor)
        move = lambda name: builder.change_status(session, actor=actor, scenario_id=scenario.id, move=name)  # noqa: E731
        with pytest.raises(ScenarioError, match="at least one step"):
            move("activate")
        with pytest.raises(ScenarioError, match="not possible"):
            move("pause")
        _step(session, actor, scenario.id, templates[0])
        assert [move(name).status for name in ("activate", "pause", "resume", "archive")] == [
            "active",
            "paused",
            "active",
            "archived",
        ]
        with pytest.raises(ScenarioError, match="archived"):
            builder.update_scenario(session, actor=actor, scenario_id=scenario.id, settings={"name": "x"})
        assert _actions(session)[-4:] == [
            "scenario.activated",
            "scenario.paused",
            "scenario.resumed",
            "scenario.archived",
        ]


def test_a_draft_is_deleted_and_a_scenario_with_friends_is_archived(app):
    with db(app) as session:
        actor, templates, _ = _world(session)
        draft = _scenario(session, actor)
        _step(session, actor, draft.id, templates[0])
        used = _scenario(session, actor, name="使用中")
        _step(session, actor, used.id, templates[0])
        builder.change_status(session, actor=actor, scenario_id=used.id, move="activate")
        friend_id = add_friends(session, 1)[0]
        session.add(Enrolment(scenario_id=used.id, friend_id=friend_id, trigger_key="test:1"))
        session.flush()
        assert builder.delete_scenario(session, actor=actor, scenario_id=draft.id) == "deleted"
        assert builder.delete_scenario(session, actor=actor, scenario_id=used.id) == "archived"
        assert session.get(Scenario, draft.id) is None
        assert session.exec(select(ScenarioStep).where(ScenarioStep.scenario_id == draft.id)).first() is None
        assert session.get(Scenario, used.id).status == ScenarioStatus.ARCHIVED
        with pytest.raises(ScenarioError) as missing:
            builder.get(session, draft.id)
        assert missing.value.code == "not_found"


def test_steps_cannot_move_while_friends_are_enrolled(app):
    with db(app) as session:
        actor, templates, _ = _world(session)
        scenario = _scenario(session, actor)
        first = _step(session, actor, scenario.id, templates[0])
        _step(session, actor, scenario.id, templates[1])
        session.add(Enrolment(scenario_id=scenario.id, friend_id=add_friends(session, 1)[0], trigger_key="t"))
        session.flush()
        with pytest.raises(ScenarioError, match="on their way"):
            builder.move_step(session, actor=actor, step_id=first.id, direction="down")
        edited = _step_update(session, actor, first, templates[2], timing_kind=TimingKind.DAY_AT, at_minute=0)
        assert edited.at_minute == 0
