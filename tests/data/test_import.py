"""CSV import: encodings, column suggestions, dry run, per-row errors, broken files, batches, resuming."""

import json
import re

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.fields.models import FieldValue
from crm.friends.models import Friend, Note
from crm.imports import rows as import_rows
from crm.imports.csv_reader import CsvImportError, parse, suggest
from crm.imports.models import ImportJob
from crm.staff.models import AuditEntry
from crm.tags.models import FriendTag, Tag
from tests.console_helpers import csrf_token, signed_in_client
from tests.data.helpers import seed, user_id

LSTEP = (
    "ユーザーID,表示名,システム表示名,タグ,個別メモ,対応マーク,友だち情報:会員ランク,ポイント\r\n"
    '{uid},花子,はなこ,"来店済, 誕生月;VIP",初回来店 2024/04,要対応,silver,120\r\n'
    "{other},太郎,たろう,来店済,,,gold,\r\n"
)


def _upload(client, data: bytes, name: str = "friends.csv"):
    from io import BytesIO

    token = csrf_token(client, "/imports")
    return client.post(
        "/imports", data={"csrf_token": token, "file": (BytesIO(data), name)}, content_type="multipart/form-data"
    )


def _job_id(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/imports/(\d+)", response.headers["Location"]).group(1))


def _post(client, path: str, data: dict | None = None):
    token = csrf_token(client, path.rsplit("/", 1)[0])
    return client.post(path, data={"csrf_token": token, **(data or {})})


def _state(app):
    with session_scope(get_engine(app)) as s:
        tags = {(ft.friend_id, s.get(Tag, ft.tag_id).name) for ft in s.exec(select(FriendTag))}
        values = {(v.friend_id, v.field_id, v.value) for v in s.exec(select(FieldValue))}
        notes = {(n.friend_id, n.body) for n in s.exec(select(Note))}
        return tags, values, notes


def _mapping(app, job_id):
    with session_scope(get_engine(app)) as s:
        return json.loads(s.get(ImportJob, job_id).mapping)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "cp932"])
def test_import_in_each_encoding_with_suggested_mapping_dry_run_then_apply(app, encoding):
    seeded = seed(app)
    client = signed_in_client(app, "admin", locale="en")
    data = LSTEP.format(uid=user_id(0xE1), other=user_id(0xE2)).encode(encoding)
    job_id = _job_id(_upload(client, data))
    mapping = _mapping(app, job_id)
    assert mapping == ["user_id", "ignore", "ignore", "tags", "note", "tags", "field:rank", "field:points"]
    before = _state(app)
    form = {f"column-{i}": target for i, target in enumerate(mapping)}
    preview = _post(client, f"/imports/{job_id}/mapping", form)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'data-valid="2"' in html and 'data-error-rows="0"' in html
    assert "要対応" in html and "来店済" in html  # new tags listed
    assert _state(app) == before  # the dry run changed nothing
    assert _post(client, f"/imports/{job_id}/apply").status_code == 302
    tags, values, notes = _state(app)
    f1, f2, ids = seeded.friend_id, seeded.other_id, seeded.field_ids
    assert {(f1, "来店済"), (f1, "誕生月"), (f1, "VIP"), (f1, "要対応"), (f2, "来店済")} <= tags
    assert {(f1, ids["rank"], "silver"), (f1, ids["points"], "120"), (f2, ids["rank"], "gold")} <= values
    assert (f1, "初回来店 2024/04") in notes
    page = client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert "data-done" in page
    with session_scope(get_engine(app)) as s:
        job = s.get(ImportJob, job_id)
        assert job.content is None and job.applied_rows == 2 and job.encoding == encoding
        assert s.exec(select(Tag).where(Tag.name == "来店済")).one().friend_count == 2
        assert [e.action for e in s.exec(select(AuditEntry).where(AuditEntry.target_type == "import_job"))] == [
            "import.uploaded",
            "import.applied",
        ]


def test_bad_rows_are_reported_by_row_number_and_skipped(app):
    seeded = seed(app)
    client = signed_in_client(app, "admin", locale="en")
    long_note = "あ" * 5001
    data = (
        "userId,points,note,rank\n"
        f"{user_id(0xE1)},12,ok note,gold\n"
        f"{user_id(0x999)},1,,\n"
        f"{user_id(0xE2)},twelve,,\n"
        f"{user_id(0xE2)},,{long_note},\n"
        f"{user_id(0xE2)},,,platinum\n"
    ).encode()
    job_id = _job_id(_upload(client, data))
    assert _mapping(app, job_id) == ["user_id", "field:points", "note", "field:rank"]
    html = _post(
        client,
        f"/imports/{job_id}/mapping",
        {"column-0": "user_id", "column-1": "field:points", "column-2": "note", "column-3": "field:rank"},
    ).get_data(as_text=True)
    assert 'data-valid="1"' in html and 'data-error-rows="4"' in html
    for row in (3, 4, 5, 6):
        assert f'data-row-error="{row}"' in html
    assert "Unknown LINE user ID" in html and "enter a number" in html and "at most 5000 characters" in html
    assert "choose one of gold, silver" in html
    _post(client, f"/imports/{job_id}/apply")
    tags, values, notes = _state(app)
    assert notes == {(seeded.friend_id, seeded.secrets["note"]), (seeded.friend_id, "ok note")}
    assert all(friend_id == seeded.friend_id for friend_id, _f, _v in values)
    with session_scope(get_engine(app)) as s:
        job = s.get(ImportJob, job_id)
        assert (job.applied_rows, job.skipped_rows, job.status) == (1, 4, "done")


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "binary data"),
        (b"userId,tags\n\x81\x7f\xff\xfe,x\n", "could not be read as UTF-8 or Shift_JIS"),
        (f"userId,tags\n{user_id(1)},a\n{user_id(2)},a,b\n".encode(), "Row 3 has 3 columns but the header has 2"),
        ("名前,タグ\n花子,VIP\n".encode(), "No column of LINE user ids"),
        (b"", "The file is empty"),
        (b"userId,tags\n", "no rows"),
        (f'userId,tags\n{user_id(1)},"a\n'.encode(), "not valid CSV"),
    ],
)
def test_broken_files_give_a_clear_error_and_store_nothing(app, data, message):
    client = signed_in_client(app, "admin", locale="en")
    response = _upload(client, data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    with session_scope(get_engine(app)) as s:
        assert s.exec(select(ImportJob)).all() == []


def test_a_file_over_the_size_limit_is_refused(make_app):
    app = make_app(IMPORT_MAX_BYTES=100)
    client = signed_in_client(app, "admin", locale="en")
    data = ("userId\n" + "\n".join(user_id(n) for n in range(10))).encode()
    response = _upload(client, data)
    assert response.status_code == 400 and "larger than" in response.get_data(as_text=True)


def test_apply_runs_in_batches_that_resume_where_they_stopped(app, monkeypatch):
    seed(app)
    monkeypatch.setattr(import_rows, "BATCH_ROWS", 2)
    client = signed_in_client(app, "admin", locale="en")
    rows = [f"{user_id(0xE1)},t{n}" for n in range(3)] + ["", f"{user_id(0xE2)},t3", f"{user_id(0xE2)},t4"]
    job_id = _job_id(_upload(client, ("userId,タグ\n" + "\n".join(rows) + "\n").encode()))
    _post(client, f"/imports/{job_id}/mapping", {"column-0": "user_id", "column-1": "tags"})
    progress = []
    for _ in range(10):
        _post(client, f"/imports/{job_id}/apply")
        with session_scope(get_engine(app)) as s:
            job = s.get(ImportJob, job_id)
            progress.append((job.next_row, job.status))
        if job.status == "done":
            break
        assert "data-progress" in client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert progress == [(2, "applying"), (5, "applying"), (6, "done")]  # the blank record 3 is skipped
    tags, _values, _notes = _state(app)
    assert {name for _f, name in tags} == {"VIP", "t0", "t1", "t2", "t3", "t4"}
    assert _post(client, f"/imports/{job_id}/apply").status_code == 302  # a late click applies nothing more


def test_suggestions_recognise_other_tools_columns(app):
    class Field:  # the two attributes suggest() reads
        def __init__(self, key, label):
            self.key, self.label = key, label

    header = ["LINE ユーザーID", "本名", "ＴＡＧ", "メモ", "友だち情報_会員番号", "field:plan", "登録日時"]
    targets = suggest(header, [], [Field("real_name", "本名"), Field("member_no", "会員番号"), Field("plan", "Plan")])
    assert targets == ["user_id", "field:real_name", "tags", "note", "field:member_no", "field:plan", "ignore"]
    with pytest.raises(CsvImportError):
        parse("表示名\n花子\n".encode("cp932"))
    assert parse(f"x\n{user_id(5)}\n".encode()).header == ["x"]  # found by its values


def _forget_readings(app) -> None:
    """Drop every stored reading, as in an installation the export was not taken from."""
    with session_scope(get_engine(app)) as s:
        for friend in s.exec(select(Friend).where(Friend.reading.is_not(None))):
            friend.reading = None


@pytest.mark.parametrize(
    ("locale", "path"),
    [
        ("en", "/exports/friends.csv?columns=keys"),
        ("ja", "/exports/friends.csv"),
        ("en", "/exports/friends.csv"),
        ("ja", "/friends/export.csv"),
        ("en", "/friends/export.csv"),
    ],
)
def test_an_exported_csv_imports_again_and_exports_the_same_file(app, locale, path):
    seed(app)
    client = signed_in_client(app, "admin", locale=locale)
    exported = client.get(path).get_data()
    _forget_readings(app)
    job_id = _job_id(_upload(client, exported, "friends-all.csv"))
    mapping = _mapping(app, job_id)
    assert mapping[1] == "user_id" and mapping[3] == "reading" and "tags" in mapping
    if path.startswith("/exports"):  # the full export also has the notes and field values
        assert "note" in mapping and "field:address" in mapping
    html = _post(client, f"/imports/{job_id}/mapping", {f"column-{i}": t for i, t in enumerate(mapping)})
    assert 'data-error-rows="0"' in html.get_data(as_text=True)
    before = _state(app)
    _post(client, f"/imports/{job_id}/apply")
    assert _state(app) == before  # same data: no duplicate notes, same tags and values
    assert client.get(path).get_data() == exported  # the readings came back with the rest


def test_a_reading_too_long_is_reported_on_its_row(app):
    seeded = seed(app)
    client = signed_in_client(app, "admin")
    data = f"ユーザーID,フリガナ\n{seeded.secrets['user_id']},{'あ' * 101}\n{user_id(0xE2)},ザンル タロウ\n".encode()
    job_id = _job_id(_upload(client, data))
    assert _mapping(app, job_id) == ["user_id", "reading"]
    html = _post(client, f"/imports/{job_id}/mapping", {"column-0": "user_id", "column-1": "reading"})
    assert 'data-error-rows="1"' in html.get_data(as_text=True)
    _post(client, f"/imports/{job_id}/apply")
    with session_scope(get_engine(app)) as s:
        assert s.get(Friend, seeded.friend_id).reading == seeded.secrets["reading"]  # the bad row: skipped
        assert s.get(Friend, seeded.other_id).reading == "ざんるたろう"  # stored in search form, audited
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "friend.reading")).one()
        assert entry.target_id == str(seeded.other_id)
