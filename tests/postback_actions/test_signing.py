"""The signed reference a button carries: it round-trips, fits LINE's 300 characters, and refuses any change."""

import pytest

from crm.postback_actions.signing import list_id_of, postback_data

SECRET = "test-secret-key"


def test_a_reference_round_trips_and_is_short():
    data = postback_data(123456789, SECRET)
    assert data.startswith("pa:123456789.")
    assert len(data) <= 40 < 300
    assert list_id_of(data, SECRET) == 123456789


@pytest.mark.parametrize(
    "change",
    [
        lambda data: data.replace("pa:7.", "pa:8."),  # another list with the same MAC
        lambda data: data[:-1] + ("A" if data[-1] != "A" else "B"),  # a tampered MAC
        lambda data: data + "x",  # something appended
        lambda data: data.split(".")[0],  # no MAC
        lambda data: "pa:7." + "A" * 16,  # a guessed MAC
        lambda data: " " + data,
        lambda data: "",
    ],
)
def test_a_changed_reference_is_refused(change):
    assert list_id_of(change(postback_data(7, SECRET)), SECRET) is None


def test_a_reference_made_with_another_secret_is_refused():
    assert list_id_of(postback_data(7, "another-secret"), SECRET) is None
    assert list_id_of(postback_data(7, SECRET), "") is None
    with pytest.raises(ValueError):
        postback_data(7, "")
