"""The generator's segment data (field values, survey answers, clicks, notes) is valid, canonical and repeatable,
streams friend ids in keyset batches, and segments over it compile on both databases."""

import pytest
from sqlmodel import Session, func, select

from bench import bulk
from bench.generate import generate_friends
from bench.generate_extras import generate_segment_data
from crm.db import make_engine
from crm.fields.models import FieldDefinition, FieldValue
from crm.fields.service import canonical_value
from crm.friends.models import Note
from crm.segments import service as segments
from crm.segments import tree as segment_tree
from crm.timeutil import utcnow
from crm.tracking.models import LinkClick
from surveys.models import SurveyAnswer, SurveyResponse


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_field_values_answers_and_clicks_are_valid_and_added_once(engine, capsys):
    generate_friends(engine, 500, seed=3)
    generate_segment_data(engine, seed=3)
    with Session(engine) as session:
        definitions = {d.id: d for d in session.exec(select(FieldDefinition))}
        values = session.exec(select(FieldValue)).all()
        assert 500 < len(values) < 2000
        assert all(canonical_value(definitions[v.field_id], v.value) == v.value for v in values)
        responses = session.exec(select(func.count()).select_from(SurveyResponse)).one()
        answers = session.exec(select(func.count()).select_from(SurveyAnswer)).one()
        clicks = session.exec(select(func.count()).select_from(LinkClick)).one()
        assert 100 < responses < 250 and answers > responses and clicks > 100
        tree = segment_tree.validate(
            session,
            {
                "type": "all",
                "conditions": [
                    {"type": "field", "key": "bench_age", "op": "gt", "value": "40"},
                    {"type": "clicked_broadcast", "broadcast_id": 1},
                ],
            },
        )
        assert 0 < segments.count(session, tree, now=utcnow()) < 500
    generate_segment_data(engine, seed=3)  # nothing new: no friend without data
    with Session(engine) as session:
        assert len(session.exec(select(FieldValue)).all()) == len(values)


def test_ids_stream_in_keyset_batches_and_responses_match_their_answers(engine, monkeypatch):
    monkeypatch.setattr(bulk, "ID_BATCH", 37)  # many batches
    generate_friends(engine, 300, seed=4)
    assert list(bulk.friend_ids(engine, after=5)) == list(range(6, 301))
    sample = list(bulk.friend_ids(engine, share=0.3, seed="s"))
    assert sample == list(bulk.friend_ids(engine, share=0.3, seed="s")) and 40 < len(sample) < 140
    generate_segment_data(engine, seed=4, note_share=0.3, comment_share=0.5, report=None)
    with Session(engine) as session:
        owners = dict(session.exec(select(SurveyResponse.id, SurveyResponse.friend_id)).all())
        answers = session.exec(select(SurveyAnswer)).all()
        assert owners and {a.response_id for a in answers} == set(owners)
        assert all(owners[a.response_id] == a.friend_id for a in answers)
        comments = [a for a in answers if a.text is not None]
        assert 0 < len(comments) < len(owners) and all(a.choice_id is None for a in comments)
        noted = session.exec(select(func.count(func.distinct(Note.friend_id)))).one()
        assert 40 < noted < 140
        survey = session.exec(select(SurveyResponse)).first()
        session.add(
            SurveyResponse(
                survey_id=survey.survey_id,
                version_id=survey.version_id,
                friend_id=survey.friend_id,
                channel="line",
                status="completed",
            )
        )
        session.commit()  # the id sequence was moved past the generated ids (PostgreSQL)
