"""The generator's segment data (field values, survey answers, clicks) is valid, canonical and repeatable,
and segments over it compile on both databases."""
import pytest
from sqlmodel import Session, func, select

from bench.generate import generate_friends, generate_segment_data
from crm.db import make_engine
from crm.models import FieldDefinition, FieldValue, LinkClick
from crm.services import segments
from crm.services.fields import canonical_value
from crm.timeutil import utcnow
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
        tree = segments.validate(session, {"type": "all", "conditions": [
            {"type": "field", "key": "bench_age", "op": "gt", "value": "40"},
            {"type": "clicked_broadcast", "broadcast_id": 1}]})
        assert 0 < segments.count(session, tree, now=utcnow()) < 500
    generate_segment_data(engine, seed=3)  # nothing new: no friend without data
    with Session(engine) as session:
        assert len(session.exec(select(FieldValue)).all()) == len(values)
