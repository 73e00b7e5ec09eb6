"""A small hand-made world of friends for segment tests: every expectation in the tests is computed by hand
from the table below."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from crm.broadcasts.models import Broadcast
from crm.db import get_engine, session_scope
from crm.fields.models import FieldDefinition, FieldValue
from crm.friends.models import Friend, FriendStatus
from crm.tags.models import FriendTag, Tag
from crm.tracking.models import LinkClick, TrackedLink
from surveys.models import Survey, SurveyAnswer, SurveyChoice, SurveyQuestion, SurveyResponse, SurveyVersion

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
FOLLOWING, BLOCKED = FriendStatus.FOLLOWING, FriendStatus.BLOCKED
# name: status, tags, fields, answer choice of q1, clicked links, followed days ago, interaction days ago
FRIENDS = {
    "aki": (FOLLOWING, "AB", {"plan": "gold", "age": "30", "birthday": "1990-05-01"}, "yes", ["l1"], 100, 1),
    "ben": (FOLLOWING, "A", {"plan": "silver", "age": "9", "birthday": "2001-01-01"}, None, ["l2"], 10, 40),
    "cho": (BLOCKED, "AB", {"plan": "gold", "age": "100"}, "no", [], 5, None),
    "dan": (FOLLOWING, "", {"age": "-5"}, None, ["l3", "l3"], 400, 10),
    "eri": (FOLLOWING, "B", {"plan": "Golden"}, "yes", [], 1, 2),
    "fay": (FOLLOWING, "", {"plan": "bronze gold", "age": "10.5"}, None, [], 50, None),
}


@dataclass
class World:
    """Ids of what the world holds, by name."""

    friends: dict[str, int] = field(default_factory=dict)
    tags: dict[str, int] = field(default_factory=dict)
    links: dict[str, int] = field(default_factory=dict)
    broadcasts: dict[str, int] = field(default_factory=dict)
    question: int = 0
    choices: dict[str, int] = field(default_factory=dict)
    other_choice: int = 0

    def names(self, ids) -> set[str]:
        by_id = {v: k for k, v in self.friends.items()}
        return {by_id[i] for i in ids}


def _ago(days):
    return None if days is None else NOW - timedelta(days=days)


def build(app) -> World:
    """Store the world of FRIENDS and return its ids."""
    world = World()
    with session_scope(get_engine(app)) as session:
        for name in "AB":
            tag = Tag(name=name)
            session.add(tag)
            session.flush()
            world.tags[name] = tag.id
        defs = {
            key: FieldDefinition(key=key, label=key, field_type=kind)
            for key, kind in (("plan", "text"), ("age", "number"), ("birthday", "date"))
        }
        session.add_all(defs.values())
        _survey(session, world)
        for name in ("b1", "b2"):
            broadcast = Broadcast(name=name, messages="[]")
            session.add(broadcast)
            session.flush()
            world.broadcasts[name] = broadcast.id
        for name, broadcast in (("l1", "b1"), ("l2", "b1"), ("l3", "b2")):
            link = TrackedLink(destination=f"https://example.com/{name}", broadcast_id=world.broadcasts[broadcast])
            session.add(link)
            session.flush()
            world.links[name] = link.id
        session.flush()
        for index, (name, row) in enumerate(FRIENDS.items()):
            _friend(session, world, defs, index, name, row)
        for name, tag_id in world.tags.items():  # the kept counts, as the tag services keep them
            session.get(Tag, tag_id).friend_count = sum(name in row[1] for row in FRIENDS.values())
    return world


def _survey(session, world: World) -> None:
    survey = Survey(title="s")
    session.add(survey)
    session.flush()
    version = SurveyVersion(survey_id=survey.id, number=1)
    session.add(version)
    session.flush()
    world.version = version.id
    questions = [SurveyQuestion(version_id=version.id, kind="single", text=t) for t in ("q1", "q2")]
    session.add_all(questions)
    session.flush()
    world.question, world.other_question = questions[0].id, questions[1].id
    for label in ("yes", "no"):
        choice = SurveyChoice(question_id=world.question, label=label)
        session.add(choice)
        session.flush()
        world.choices[label] = choice.id
    other = SurveyChoice(question_id=world.other_question, label="x")
    session.add(other)
    session.flush()
    world.other_choice = other.id
    world.survey = survey.id


def _friend(session, world: World, defs, index: int, name: str, row) -> None:
    status, tags, values, answer, clicks, followed, interaction = row
    friend = Friend(
        line_user_id=f"U{index:032x}",
        display_name=name,
        status=status,
        follow_count=1,
        last_followed_at=_ago(followed),
        first_followed_at=_ago(followed),
        last_interaction_at=_ago(interaction),
    )
    session.add(friend)
    session.flush()
    world.friends[name] = friend.id
    session.add_all(FriendTag(friend_id=friend.id, tag_id=world.tags[t], added_by="test") for t in tags)
    session.add_all(
        FieldValue(friend_id=friend.id, field_id=defs[k].id, value=v, updated_by="test") for k, v in values.items()
    )
    if answer:
        response = SurveyResponse(
            survey_id=world.survey, version_id=world.version, friend_id=friend.id, channel="line", status="completed"
        )
        session.add(response)
        session.flush()
        session.add(
            SurveyAnswer(
                response_id=response.id,
                question_id=world.question,
                friend_id=friend.id,
                choice_id=world.choices[answer],
            )
        )
    for link in clicks:
        session.add(
            LinkClick(
                link_id=world.links[link],
                friend_id=friend.id,
                broadcast_id=session.get(TrackedLink, world.links[link]).broadcast_id,
            )
        )
