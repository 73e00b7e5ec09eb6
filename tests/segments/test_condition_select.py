"""The condition select shared by scenario goals and steps and auto-reply rules: its choices, and the tree a
choice stands for (none, the stored one kept, or a saved segment's), with the caller's error when it is gone."""

import pytest

from crm.db import get_engine, session_scope
from crm.segments.condition_select import KEEP, chosen_tree, condition_choices, kept_choice
from crm.segments.models import Segment

VIP = '{"type": "all", "conditions": [{"type": "tag", "op": "has", "tag_id": 1}]}'


class Gone(Exception):
    pass


def _segments(app, *names):
    with session_scope(get_engine(app)) as session:
        rows = [Segment(name=name, tree=f'{{"type": "all", "conditions": [], "n": "{name}"}}') for name in names]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def test_choices_are_none_the_stored_condition_then_segments_by_name(app):
    ids = _segments(app, "常連", "VIP")
    with app.test_request_context(), session_scope(get_engine(app)) as session:
        fresh = condition_choices(session, None, none_label="すべての友だち")
        stored = condition_choices(session, VIP, none_label="—")
    assert [(c.value, c.label) for c in fresh] == [("", "すべての友だち"), (str(ids[1]), "VIP"), (str(ids[0]), "常連")]
    assert [c.value for c in stored][:2] == ["", KEEP]


def test_a_choice_stands_for_no_tree_the_stored_one_or_a_copy_of_a_segments(app):
    (segment_id,) = _segments(app, "VIP")
    with session_scope(get_engine(app)) as session:
        assert chosen_tree(session, "", VIP, gone=Gone) is None
        assert chosen_tree(session, KEEP, VIP, gone=Gone) == VIP
        assert '"n": "VIP"' in chosen_tree(session, str(segment_id), VIP, gone=Gone)
        for missing in (str(segment_id + 100), "not-a-number"):
            with pytest.raises(Gone):
                chosen_tree(session, missing, None, gone=Gone)
    assert kept_choice(VIP) == KEEP and kept_choice(None) == ""
