"""The chat page (/chat): the conversation list beside the open conversation, and the polling endpoints that keep
both current without reloading."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from flask_login import current_user
from sqlmodel import select

from crm.chat import service as chat
from crm.console.args import row_id_arg
from crm.console.guard import requires
from crm.db import get_session, unit_of_work
from crm.fields import service as fields
from crm.friends import notes
from crm.friends.models import Friend, FriendStatus
from crm.friends.page_forms import ReplyForm
from crm.friends.page_views import quota_cache
from crm.inbox import conversations
from crm.inbox.assignment import assignable_staff
from crm.inbox.forms import AssignForm, staff_choices
from crm.inbox.sync import sync_conversations
from crm.inbox.talk import Window, cursor_of, parse_cursor, talk_page
from crm.permissions import can, visible_name
from crm.tags.models import FriendTag, Tag
from crm.timeutil import utcnow

bp = Blueprint("inbox", __name__)
NOTES_SHOWN = 3
POLL_SECONDS = 4
LIST_POLL_SECONDS = 15


def inbox_filter() -> conversations.InboxFilter:
    """The list's filters from the query string; unknown values are ignored."""
    args = request.args
    attention = args.get("attention")
    return conversations.InboxFilter(
        attention=attention if attention in conversations.ATTENTION_STATES else None,
        unread=args.get("unread") == "1",
        mine=args.get("mine") == "1",
        tag_id=row_id_arg("tag"),
        search=args.get("q", "")[:100],
    )


def _filter_args() -> dict:
    return {key: request.args[key] for key in ("attention", "unread", "mine", "tag", "q") if request.args.get(key)}


def _list_context() -> dict:
    db = get_session()
    flt = inbox_filter()
    with unit_of_work():
        sync_conversations(db)
    rows = conversations.list_conversations(db, flt=flt, staff_id=current_user.id, before_id=row_id_arg("before"))
    staff_names = {staff.id: staff.display_name for staff in assignable_staff(db)}
    return dict(
        rows=rows,
        flt=flt,
        filter_args=_filter_args(),
        attention_labels=conversations.ATTENTION_LABELS,
        staff_names=staff_names,
        name_of=lambda friend: visible_name(friend, current_user.role),
        more_before=rows[-1].last_message.id if len(rows) == conversations.LIST_SIZE else None,
    )


def friend_or_404(friend_id: int) -> Friend:
    friend = get_session().get(Friend, friend_id)
    if friend is None or friend.status == FriendStatus.ERASED:
        abort(404)
    return friend


def _panel_context(friend: Friend) -> dict:
    """The open conversation: its newest items, the friend's tags, notes and fields, assignment and reply box."""
    db = get_session()
    items, more = talk_page(db, friend_id=friend.id, window=Window())
    with unit_of_work():
        conversations.mark_read(db, friend_id=friend.id, at=utcnow())
    conversation = conversations.conversation_of(db, friend.id)
    assigned = conversation.assigned_staff_id if conversation else None
    tag_ids = select(FriendTag.tag_id).where(FriendTag.friend_id == friend.id)
    may_reply = can(current_user.role, "chat.send")
    blocked = friend.status == FriendStatus.BLOCKED
    assign_form = AssignForm(formdata=None, staff_id=assigned or 0)
    assign_form.staff_id.choices = staff_choices(db)
    return dict(
        friend=friend,
        name=visible_name(friend, current_user.role),
        items=items,
        more_older=more,
        newest_cursor=items[-1].key if items else "",
        oldest_cursor=items[0].key if items else "",
        friend_tags=db.exec(select(Tag).where(Tag.id.in_(tag_ids)).order_by(Tag.name)).all(),
        friend_notes=notes.notes_for_friend(db, friend_id=friend.id)[:NOTES_SHOWN],
        field_rows=[(d, v) for d, v in fields.values_for_friend(db, friend_id=friend.id) if v is not None],
        hidden_field=lambda definition: fields.hidden_from(definition, current_user.role),
        assign_form=assign_form,
        may_reply=may_reply,
        blocked=blocked,
        quota=quota_cache(current_app).get() if may_reply and not blocked else None,
        reply_form=ReplyForm(formdata=None, retry_key=chat.new_retry_key()),
        poll_seconds=POLL_SECONDS,
    )


def render_inbox(friend: Friend | None, *, status: int = 200, **extra):
    """The chat page: the list, and the open conversation when one is chosen."""
    db = get_session()
    panel = _panel_context(friend) if friend else {"friend": None}  # first: opening it reads it
    return render_template(
        "inbox/index.html",
        **_list_context(),
        tags=db.exec(select(Tag).order_by(Tag.name)).all(),
        list_poll_seconds=LIST_POLL_SECONDS,
        **panel,
        **extra,
    ), status


@bp.get("/chat")
@requires("chat.view")
def index():
    """The conversation list (on a phone, the list alone)."""
    return render_inbox(None)


@bp.get("/chat/<int:friend_id>")
@requires("chat.view")
def show(friend_id: int):
    """One conversation beside the list (on a phone, the conversation alone)."""
    return render_inbox(friend_or_404(friend_id))


@bp.get("/chat/list")
@requires("chat.view")
def conversation_list():
    """The list alone (HTML fragment), polled to keep order and unread counts current."""
    return render_template("inbox/_list.html", **_list_context(), open_id=row_id_arg("open"))


@bp.get("/chat/<int:friend_id>/items")
@requires("chat.view")
def items(friend_id: int):
    """Talk items after a cursor (new ones: polling) or before one (older ones), as an HTML fragment in JSON.

    A poll with nothing new answers the same cursor and no HTML; new incoming messages are marked read, since
    they appear in the open conversation."""
    friend = friend_or_404(friend_id)
    after, before = parse_cursor(request.args.get("after")), parse_cursor(request.args.get("before"))
    if after is None and before is None:
        abort(400)
    db = get_session()
    page, more = talk_page(db, friend_id=friend.id, window=Window(after=after, before=None if after else before))
    if after is not None and page:
        with unit_of_work():
            conversations.mark_read(db, friend_id=friend.id, at=utcnow())
    html = render_template("inbox/_items.html", items=page) if page else ""
    edge = page[-1].key if after is not None and page else page[0].key if page else cursor_of(after or before)
    return jsonify(html=html, cursor=edge, more=more)
