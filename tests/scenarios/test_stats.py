"""Scenario statistics against hand-counted figures: 10 friends, 2 steps (the first an A/B test), a goal tag."""

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from crm.friends.models import Friend, FriendStatus
from crm.scenarios import stats
from crm.scenarios.models import Enrolment, Scenario, ScenarioSend, ScenarioStep, StepVariant
from crm.tags.models import Tag
from crm.tracking.models import LinkClick, TrackedLink
from tests.broadcasts.helpers import T0, add_friends, db
from tests.console_helpers import signed_in_client
from tests.factories import make_scenario, make_template

# friend index -> (held out, status, exit reason, goal reached this many days after enrolment)
ENROLMENTS = {
    1: (False, "active", None, 1),
    2: (False, "active", None, None),
    3: (False, "completed", None, 31),  # after the 30 goal days: not counted
    4: (False, "completed", None, None),
    5: (False, "exited", "goal", 2),
    6: (False, "exited", "blocked", None),
    7: (True, "exited", "opted_out", None),
    8: (True, "completed", None, 5),
    9: (True, "completed", None, None),
    10: (True, "completed", None, None),
}
# (step, friend, variant label or None, state)
SENDS = [
    (1, 1, "A", "sent"),
    (1, 2, "B", "sent"),
    (1, 3, "A", "sent"),
    (1, 4, "B", "failed"),
    (1, 5, "A", "sent"),
    (1, 6, "B", "sent"),
    (1, 7, "A", "held_out"),
    (1, 8, None, "held_out"),
    (1, 9, None, "held_out"),
    (1, 10, None, "held_out"),
    (2, 1, "A", "queued"),
    (2, 3, "A", "sent"),
    (2, 5, None, "skipped"),
    (2, 7, "A", "held_out"),
]


def _world(app):
    template = make_template(app)
    steps = [
        {
            "variants": [
                {"label": "A", "weight": 1, "template_id": template},
                {"label": "B", "weight": 1, "template_id": template},
            ]
        },
        {"template_id": template},
    ]
    with db(app) as session:
        tag = Tag(name="購入済")
        session.add(tag)
        session.flush()
        tag_id = tag.id
    scenario_id = make_scenario(app, steps=steps, goal_tree=f'{{"type": "tag", "tag_id": {tag_id}}}', goal_days=30)
    with db(app) as session:
        friends = dict(zip(range(1, 11), add_friends(session, 10), strict=True))
        step_ids = {
            step.position: step.id
            for step in session.exec(select(ScenarioStep).where(ScenarioStep.scenario_id == scenario_id))
        }
        variants = {
            (position, variant.label): variant.id
            for position, step_id in step_ids.items()
            for variant in session.exec(select(StepVariant).where(StepVariant.step_id == step_id))
        }
        enrolments = {}
        for index, (held_out, status, reason, goal_days) in ENROLMENTS.items():
            enrolment = Enrolment(
                scenario_id=scenario_id,
                friend_id=friends[index],
                status=status,
                held_out=held_out,
                trigger_key=f"test:{index}",
                enrolled_at=T0,
                exit_reason=reason,
                goal_reached_at=None if goal_days is None else T0 + timedelta(days=goal_days),
            )
            session.add(enrolment)
            session.flush()
            enrolments[index] = enrolment.id
        for position, index, label, state in SENDS:
            session.add(
                ScenarioSend(
                    enrolment_id=enrolments[index],
                    scenario_id=scenario_id,
                    step_id=step_ids[position],
                    variant_id=variants.get((position, label)),
                    friend_id=friends[index],
                    state=state,
                    due_at=T0,
                    sent_at=T0 if state == "sent" else None,
                )
            )
        _clicks_and_blocks(session, friends, variants)
    return scenario_id


def _clicks_and_blocks(session, friends, variants):
    links = [
        TrackedLink(destination="https://shop.example/a", scenario_variant_id=variants[(1, "A")]),
        TrackedLink(destination="https://shop.example/b", scenario_variant_id=variants[(1, "B")]),
        TrackedLink(destination="https://shop.example/c", scenario_variant_id=variants[(2, "A")]),
        TrackedLink(destination="https://shop.example/a", broadcast_id=1),  # not the scenario's
    ]
    session.add_all(links)
    session.flush()
    for link, index in [(0, 1), (0, 1), (0, 3), (1, 2), (2, 3), (3, 1)]:
        session.add(LinkClick(link_id=links[link].id, friend_id=friends[index], clicked_at=T0 + timedelta(hours=1)))
    for index, days in [(6, 3), (2, 8), (4, 1)]:  # counted; after 7 days; its send failed
        friend = session.get(Friend, friends[index])
        friend.status, friend.blocked_at = FriendStatus.BLOCKED, T0 + timedelta(days=days)


def _figures(figures):
    return (
        figures.reached,
        figures.queued,
        figures.sent,
        figures.failed,
        figures.held_out,
        figures.skipped,
        figures.clicks,
        figures.unique_clickers,
        figures.blocks_7d,
    )


def test_statistics_match_the_hand_counted_figures(app):
    scenario_id = _world(app)
    with db(app) as session:
        figures = stats.statistics(session, session.get(Scenario, scenario_id))
    assert (figures.active, figures.completed, figures.exited, figures.enrolled) == (2, 5, 3, 10)
    assert figures.exit_reasons == [("blocked", 1), ("goal", 1), ("opted_out", 1)]
    first, second = figures.steps
    #                         reached queued sent failed held skipped clicks unique blocks
    assert _figures(first) == (10, 0, 5, 1, 4, 0, 4, 3, 1)
    assert _figures(second) == (4, 1, 1, 0, 1, 1, 1, 1, 0)
    variant_a, variant_b = first.variants
    assert (variant_a.label, _figures(variant_a)) == ("A", (4, 0, 3, 0, 1, 0, 3, 2, 0))
    assert (variant_b.label, _figures(variant_b)) == ("B", (3, 0, 2, 1, 0, 0, 1, 1, 1))
    goal = figures.goal
    assert (goal.treated.reached, goal.treated.group, goal.control.reached, goal.control.group) == (2, 6, 1, 4)
    assert goal.difference == pytest.approx(100 * 2 / 6 - 25)
    assert not goal.enough and goal.friends == 10
    assert (variant_a.goal.treated.reached, variant_a.goal.treated.group) == (2, 3)
    assert (variant_b.goal.treated.reached, variant_b.goal.treated.group) == (0, 3)
    assert second.variants[0].goal is None  # one variant: no A/B comparison
    # Exited after the last step they reached: friend 6 after step 1; friends 5 (skipped) and 7 (held out) after 2.
    assert (first.exits_after, second.exits_after) == (1, 2)


def test_the_scenario_page_draws_sent_clicks_and_exits_per_step(app):
    scenario_id = _world(app)
    page = signed_in_client(app, "analyst").get(f"/scenarios/{scenario_id}").get_data(as_text=True)
    chart = page[page.index('id="scenario-steps-chart"') :]
    chart = chart[: chart.index("</figure>")]
    rows = chart[chart.index("<tbody>") :].split("<tr>")[1:]
    assert [re.findall(r'<td class="count">(\d+)</td>', row) for row in rows] == [["5", "4", "1"], ["1", "1", "2"]]


def test_the_list_counts_come_from_one_grouped_query(app):
    scenario_id = _world(app)
    other = make_scenario(app, name="空")
    with db(app) as session:
        counts = stats.enrolment_counts(session, [scenario_id, other])
    assert counts == {scenario_id: {"active": 2, "completed": 5, "exited": 3}, other: {}}


def test_a_scenario_without_goal_has_no_goal_figures(app):
    scenario_id = make_scenario(app, steps=[{"template_id": make_template(app)}])
    with db(app) as session:
        figures = stats.statistics(session, session.get(Scenario, scenario_id))
    assert figures.goal is None and figures.enrolled == 0
    assert _figures(figures.steps[0]) == (0,) * 9
