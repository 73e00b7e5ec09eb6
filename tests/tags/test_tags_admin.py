"""Tag and tag-folder management: listing by folder, unique names, colours, deletion with confirmation, audit."""

import json

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.friends.models import Friend
from crm.staff.audit import Actor
from crm.staff.models import AuditEntry
from crm.tags import admin as tag_admin
from crm.tags.admin import TagAdminError
from crm.tags.models import FriendTag, Tag, TagFolder
from crm.tags.service import add_tag
from tests.console_helpers import post_form, signed_in_client

SYSTEM = Actor.system("test")


def _setup(app, fn):
    """Run fn(session) in its own transaction and return its result."""
    with session_scope(get_engine(app)) as session:
        return fn(session)


def _tag(app, name, friends=0, folder_id=None, color="#06c755") -> int:
    def build(session):
        tag = tag_admin.create_tag(session, name=name, folder_id=folder_id, color=color, actor=SYSTEM)
        for index in range(friends):
            friend = Friend(line_user_id=f"U{name.encode().hex()}{index}")
            session.add(friend)
            session.flush()
            add_tag(session, friend_id=friend.id, tag_id=tag.id, actor=SYSTEM, audit=False)
        return tag.id

    return _setup(app, build)


def _folder(app, name) -> int:
    return _setup(app, lambda session: tag_admin.create_folder(session, name=name, actor=SYSTEM).id)


def _audit(app, action) -> list[AuditEntry]:
    return _setup(
        app,
        lambda session: session.exec(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        ).all(),
    )


def _tags(app) -> list[Tag]:
    return _setup(app, lambda session: session.exec(select(Tag).order_by(Tag.name)).all())


def test_tags_are_listed_by_folder_with_counts(app):
    folder_id = _folder(app, "来店")
    _tag(app, "初来店", friends=2, folder_id=folder_id)
    _tag(app, "VIP", friends=1)
    client = signed_in_client(app, "analyst")
    html = client.get("/tags").get_data(as_text=True)
    in_folder, _, no_folder = html.partition('data-folder="none"')
    assert f'data-folder="{folder_id}"' in in_folder and "初来店" in in_folder and "VIP" not in in_folder
    assert "VIP" in no_folder
    assert 'data-count="2"' in in_folder and 'data-count="1"' in no_folder
    assert "/tags/new" not in html and "/edit" not in html, "analysts cannot manage tags"


def test_creating_a_tag_is_audited(app):
    client = signed_in_client(app, "staff")
    response = post_form(
        client,
        "/tags/new",
        {"name": "  ＶＩＰ会員 ", "folder": "", "description": "上得意", "color": "#AABBCC"},
        "/tags",
    )
    assert response.status_code == 302
    [tag] = _tags(app)
    assert (tag.name, tag.color, tag.description, tag.friend_count) == ("VIP会員", "#aabbcc", "上得意", 0)
    [entry] = _audit(app, "tag.created")
    assert entry.actor == "staff:staff@example.com" and entry.target_id == str(tag.id)
    assert json.loads(entry.after)["name"] == "VIP会員"


@pytest.mark.parametrize(
    "existing, attempt",
    [("VIP", "vip"), ("VIP", "ＶＩＰ"), ("セール", "ｾｰﾙ"), ("Café", "CAFÉ "), ("ß-club", "SS-CLUB")],
)
def test_tag_names_are_unique_ignoring_case_and_width(app, existing, attempt):
    _tag(app, existing)
    client = signed_in_client(app, "marketer")
    response = post_form(client, "/tags/new", {"name": attempt, "folder": "", "color": "#06c755"}, "/tags")
    assert response.status_code == 400
    assert 'class="error"' in response.get_data(as_text=True)
    assert [tag.name for tag in _tags(app)] == [existing]
    assert len(_audit(app, "tag.created")) == 1


@pytest.mark.parametrize("color", ["red", "#fff", "#12345g", "#1234567", ""])
def test_invalid_colours_are_refused(app, color):
    client = signed_in_client(app, "admin")
    response = post_form(client, "/tags/new", {"name": "色", "folder": "", "color": color}, "/tags")
    assert response.status_code == 400
    assert _tags(app) == []
    with pytest.raises(TagAdminError) as error:
        _setup(app, lambda session: tag_admin.create_tag(session, name="色", color=color or "x", actor=SYSTEM))
    assert error.value.code == "invalid_color"


def test_editing_a_tag_audits_only_what_changed(app):
    folder_id = _folder(app, "キャンペーン")
    tag_id = _tag(app, "spring", friends=1)
    client = signed_in_client(app, "staff")
    assert client.get(f"/tags/{tag_id}/edit").status_code == 200
    response = post_form(
        client,
        f"/tags/{tag_id}/edit",
        {"name": "Spring", "folder": str(folder_id), "description": "", "color": "#112233"},
        f"/tags/{tag_id}/edit",
    )
    assert response.status_code == 302
    [tag] = _tags(app)
    assert (tag.name, tag.folder_id, tag.color, tag.friend_count) == ("Spring", folder_id, "#112233", 1)
    [entry] = _audit(app, "tag.updated")
    assert entry.actor == "staff:staff@example.com"
    assert json.loads(entry.before) == {"name": "spring", "folder_id": None, "color": "#06c755"}
    assert json.loads(entry.after) == {"name": "Spring", "folder_id": folder_id, "color": "#112233"}


def test_renaming_to_another_tags_name_is_refused(app):
    _tag(app, "A")
    tag_id = _tag(app, "B")
    client = signed_in_client(app, "admin")
    response = post_form(
        client, f"/tags/{tag_id}/edit", {"name": "ａ", "folder": "", "color": "#06c755"}, f"/tags/{tag_id}/edit"
    )
    assert response.status_code == 400
    assert [tag.name for tag in _tags(app)] == ["A", "B"]
    assert _audit(app, "tag.updated") == []


def test_deleting_a_tag_shows_the_count_and_needs_confirmation(app):
    tag_id = _tag(app, "old", friends=3)
    keep_id = _tag(app, "keep", friends=2)
    client = signed_in_client(app, "admin")
    page = client.get(f"/tags/{tag_id}/delete").get_data(as_text=True)
    assert 'data-affected="3"' in page
    unconfirmed = post_form(client, f"/tags/{tag_id}/delete", {}, f"/tags/{tag_id}/delete")
    assert unconfirmed.status_code == 400
    assert len(_tags(app)) == 2
    confirmed = post_form(client, f"/tags/{tag_id}/delete", {"confirm": "y"}, f"/tags/{tag_id}/delete")
    assert confirmed.status_code == 302
    assert [tag.name for tag in _tags(app)] == ["keep"]
    links = _setup(app, lambda session: session.exec(select(FriendTag.tag_id)).all())
    assert links == [keep_id, keep_id]
    [entry] = _audit(app, "tag.deleted")
    assert entry.actor == "staff:admin@example.com" and entry.target_id == str(tag_id)
    assert json.loads(entry.before)["name"] == "old"
    assert json.loads(entry.after) == {"friends_untagged": 3}


def test_tag_links_are_deleted_in_batches(app):
    tag_id = _tag(app, "many", friends=7)
    removed = _setup(app, lambda session: tag_admin.delete_tag(session, tag_id=tag_id, actor=SYSTEM, batch_size=2))
    assert removed == 7
    assert _setup(app, lambda session: session.exec(select(FriendTag)).all()) == []
    assert _tags(app) == []


def test_folders_can_be_created_renamed_and_deleted(app):
    client = signed_in_client(app, "staff")
    assert post_form(client, "/tags/folders/new", {"folder_name": "季節"}, "/tags").status_code == 302
    folder_id = _setup(app, lambda session: session.exec(select(TagFolder.id)).one())
    duplicate = post_form(client, "/tags/folders/new", {"folder_name": " 季節"}, "/tags")
    assert duplicate.status_code == 400
    renamed = post_form(
        client, f"/tags/folders/{folder_id}/edit", {"folder_name": "シーズン"}, f"/tags/folders/{folder_id}/edit"
    )
    assert renamed.status_code == 302
    [entry] = _audit(app, "tag_folder.renamed")
    assert (json.loads(entry.before), json.loads(entry.after)) == ({"name": "季節"}, {"name": "シーズン"})
    _tag(app, "夏", folder_id=folder_id)
    _tag(app, "冬", folder_id=folder_id)
    page = client.get(f"/tags/folders/{folder_id}/delete").get_data(as_text=True)
    assert 'data-tag-count="2"' in page
    deleted = post_form(
        client, f"/tags/folders/{folder_id}/delete", {"confirm": "y"}, f"/tags/folders/{folder_id}/delete"
    )
    assert deleted.status_code == 302
    assert _setup(app, lambda session: session.exec(select(TagFolder)).all()) == []
    assert [(tag.name, tag.folder_id) for tag in _tags(app)] == [("冬", None), ("夏", None)]
    [entry] = _audit(app, "tag_folder.deleted")
    assert entry.actor == "staff:staff@example.com"
    assert json.loads(entry.after) == {"tags_moved_to_no_folder": 2}


def test_tag_names_and_descriptions_are_escaped(app):
    _setup(
        app,
        lambda session: tag_admin.create_tag(
            session, name="<script>x</script>", description='<img src=x onerror="y">', actor=SYSTEM
        ),
    )
    html = signed_in_client(app, "editor").get("/tags").get_data(as_text=True)
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "<img src=x" not in html


def test_unknown_tag_or_folder_is_404(app):
    client = signed_in_client(app, "admin")
    assert client.get("/tags/999/edit").status_code == 404
    assert client.get("/tags/999/delete").status_code == 404
    assert client.get("/tags/folders/999/edit").status_code == 404
