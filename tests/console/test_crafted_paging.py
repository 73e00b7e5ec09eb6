"""Crafted paging links on console pages (a cursor or page number beyond the id columns, non-ASCII digits)
show the first page instead of a 500."""

from __future__ import annotations

import pytest

from tests.console_helpers import signed_in_client
from tests.surveys.helpers import build_survey, free

CRAFTED = ("99999999999999999999", "٣", "-1", "0")


@pytest.mark.parametrize("value", CRAFTED)
def test_paging_arguments_out_of_range_show_the_first_page(app, value):
    survey = build_survey(app, free("ご意見は?"))
    client = signed_in_client(app, "admin")
    for path, name in (("/audit", "before"), (f"/surveys/{survey}/results", "before"), ("/broadcasts", "page")):
        response = client.get(path, query_string={name: value})
        assert response.status_code == 200, (path, value)
