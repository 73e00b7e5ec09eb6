"""Broadcasts (一斉配信): the list, the composer with a live recipient count, the broadcast page and statistics.

Sending steps (preview, test send, confirm and schedule, approve, cancel, resume) are in broadcast_send.py."""

from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func
from sqlmodel import Session, select
from wtforms.fields import SelectChoice

from crm.broadcasts import drafts as broadcast_drafts
from crm.broadcasts import lifecycle as broadcasts
from crm.broadcasts import stats as broadcast_stats
from crm.broadcasts import testers
from crm.broadcasts import timeline as broadcast_timeline
from crm.broadcasts import variants as broadcast_variants
from crm.broadcasts.forms import (
    MESSAGE_SLOTS,
    ActionForm,
    ComposerForm,
    MessageForm,
    composer_data,
    keep_unlisted_sticker,
)
from crm.broadcasts.models import Broadcast, RecipientState
from crm.broadcasts.models import BroadcastStatus as S
from crm.broadcasts.options import BroadcastError, clean_audience, goal_target_name, parse_goal
from crm.broadcasts.quick_audience import MATCH_WORDS, QUICK, read_tag_tree, tag_tree
from crm.console.args import row_id_arg
from crm.console.forms import form_error
from crm.console.guard import current_actor, requires
from crm.db import get_session, unit_of_work
from crm.i18n import message_of
from crm.line import stickers
from crm.message_templates import service as templates
from crm.message_templates.uploads import store_uploads
from crm.segments.condition_select import KEEP, condition_choices
from crm.segments.models import Segment
from crm.statistics import MIN_GROUP, rate
from crm.tags.models import Tag
from crm.timeutil import utcnow
from crm.tracking import stats as click_stats
from crm.tracking.models import TrackedLink

bp = Blueprint("broadcasts", __name__, url_prefix="/broadcasts")
STATUS_LABELS = {
    S.DRAFT: _l("Draft"),
    S.AWAITING_APPROVAL: _l("Awaiting approval"),
    S.SCHEDULED: _l("Scheduled"),
    S.SENDING: _l("Sending"),
    S.PAUSED: _l("Paused"),
    S.SENT: _l("Sent"),
    S.CANCELLED: _l("Cancelled"),
    S.MISSED: _l("Missed"),
    S.FAILED: _l("Failed"),
}
STATE_LABELS = {
    RecipientState.QUEUED: _l("Queued"),
    RecipientState.HELD_OUT: _l("Held out (control group)"),
    RecipientState.CAPPED: _l("Skipped (frequency cap)"),
    RecipientState.SENT: _l("Received"),
    RecipientState.FAILED: _l("Failed"),
}
PAUSE_REASONS = {
    "monthly_limit": _l(
        "LINE's monthly message limit was reached. Raise the limit (or wait for next "
        "month) in LINE Official Account Manager, then resume."
    )
}
PAGE_SIZE = 100
LINK_CHOICES = 200


def load(db: Session, broadcast_id: int) -> Broadcast:
    """The broadcast or 404."""
    broadcast = db.get(Broadcast, broadcast_id)
    if broadcast is None:
        abort(404)
    return broadcast


def _composer(db: Session, broadcast: Broadcast | None = None, **kwargs) -> ComposerForm:
    """The composer with its choices: every friend, the broadcast's own tree (kept), a quick audience of tags,
    saved segments; tags, and links (one per destination)."""
    form = ComposerForm(**kwargs)
    tree = broadcast.segment_tree if broadcast is not None else None
    kept = tree if tree and read_tag_tree(tree) is None else None  # a quick audience shows as one instead
    everyone, *rest = condition_choices(db, kept, none_label=_("All friends"))
    quick = SelectChoice(QUICK, _("Friends by tags (without a saved segment)"))
    form.segment.choices = [everyone, *rest[: 1 if kept else 0], quick, *rest[1 if kept else 0 :]]
    tags = [SelectChoice(str(tag.id), tag.name) for tag in db.exec(select(Tag).order_by(Tag.name))]
    form.quick_tags.choices = tags
    form.goal_tag.choices = [SelectChoice("", "—"), *tags]
    for slot in _slots(form):
        keep_unlisted_sticker(slot)
    first = select(TrackedLink.destination, func.min(TrackedLink.id)).group_by(TrackedLink.destination)
    links = db.execute(first.order_by(TrackedLink.destination).limit(LINK_CHOICES)).all()
    form.goal_link.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(link_id), destination) for destination, link_id in links
    ]
    return form


def _slots(form: ComposerForm) -> list[MessageForm]:
    """Every message slot of the composer: the single content's and each variant's."""
    entries = [*form.messages, *(slot for variant in form.variants for slot in variant.form.messages)]
    return [entry.form for entry in entries]


def _render_composer(form: ComposerForm, broadcast: Broadcast | None, status: int = 200):
    return render_template(
        "broadcasts/compose.html",
        form=form,
        broadcast=broadcast,
        templates=templates.list_templates(get_session()),
        max_variants=broadcast_variants.MAX_VARIANTS,
        sticker_image=lambda value: stickers.image_url(stickers.parse_sticker_value(value)[1]),
    ), status


def _save(db: Session, form: ComposerForm, broadcast: Broadcast | None):
    """Create or update the draft from a validated form (chosen images stored first, and kept); errors go on
    the form's fields (and roll back)."""
    slots = [slot for slot in _slots(form) if slot.kind.data == "image"]
    upload_errors = store_uploads(slots, uploaded_by=current_user.id, base_url=current_app.config["PUBLIC_BASE_URL"])
    for slot in slots:
        if slot.image.id in upload_errors:
            slot.image.errors = [upload_errors[slot.image.id]]
    if upload_errors:
        return None
    segment_id, segment_tree = form.audience(broadcast.segment_tree if broadcast is not None else None)
    try:
        values = dict(
            name=form.name.data,
            purpose=form.purpose.data,
            messages=form.message_list(),
            segment_id=segment_id,
            segment_tree=segment_tree,
            track_links=form.track_links.data,
            control_percent=form.control_percent.data,
            cap_count=form.cap_count.data,
            cap_days=form.cap_days.data,
            goal=form.goal(),
            variants=form.variant_list(),
        )
        if values["variants"]:
            values["messages"] = None  # each variant has its own
    except ValueError:
        form.messages.errors.append(_("A flex message's contents are not valid JSON."))
        return None
    with unit_of_work(BroadcastError) as work:
        if broadcast is None:
            saved = broadcast_drafts.create_draft(db, actor=current_actor(), **values)
        else:
            saved = broadcast_drafts.update_draft(db, actor=current_actor(), broadcast_id=broadcast.id, **values)
    if work.failed:
        _show_error(form, work.error)
        return None
    return saved


def _show_error(form: ComposerForm, error: BroadcastError) -> None:
    """Put a service error on its field; a message's error on that message's slot (of its variant)."""
    if error.field == "variants":
        entries = form.variants.entries
        if error.index is not None and error.index < len(entries) and error.message_index is not None:
            filled = [slot for slot in entries[error.index].form.messages if slot.form.to_message()]
            if error.message_index < len(filled):
                filled[error.message_index].form.kind.errors = [message_of(error)]
                return
        problem = message_of(error)
        if error.index is not None and error.index < len(broadcast_variants.LABELS):
            problem = _("Variant %(label)s: %(problem)s", label=broadcast_variants.LABELS[error.index], problem=problem)
        form.variants.errors = [problem]
        return
    if error.field == "messages" and error.index is not None:
        filled = [slot for slot in form.messages if slot.form.to_message()]
        if error.index < len(filled):
            filled[error.index].form.kind.errors = [message_of(error)]
            return
    form_error(form, error, "goal_kind" if error.field == "goal" else "name")


def _compose(broadcast: Broadcast | None):
    db = get_session()
    if broadcast is not None and broadcast.status != S.DRAFT:
        flash(_("Only a draft can be edited."), "error")
        return redirect(url_for("broadcasts.show", broadcast_id=broadcast.id))
    data = None
    if broadcast is not None and request.method == "GET":
        data = composer_data(broadcast, broadcast_variants.of_broadcast(db, broadcast.id))
    if broadcast is None and request.method == "GET" and request.args.get("template", "").isdigit():
        data = _from_template(db, int(request.args["template"]))
    form = _composer(db, broadcast, data=data) if data else _composer(db, broadcast)
    operation = request.form.get("variant_op", "") if request.method == "POST" else ""
    if operation:  # a variant button: only the CSRF token is checked, nothing is saved yet
        if not ActionForm().validate_on_submit():
            flash(_("The form expired. Try again."), "error")
            return _render_composer(form, broadcast, 400)
        changed = _variants_changed(db, form, operation)
        return _render_composer(_composer(db, broadcast, formdata=None, data=changed), broadcast)
    if request.method == "POST":
        if form.validate_on_submit() and (saved := _save(db, form, broadcast)) is not None:
            flash(_("Draft saved."), "success")
            return redirect(url_for("broadcasts.show", broadcast_id=saved.id))
        return _render_composer(form, broadcast, 400)
    return _render_composer(form, broadcast)


def _from_template(db: Session, template_id: int) -> dict | None:
    """Composer data starting from a template: its name and a copy of its messages (images as absolute URLs)."""
    try:
        template = templates.get_template(db, template_id)
    except templates.TemplateError:
        abort(404)
    messages = templates.messages_for_sending(template, base_url=current_app.config["PUBLIC_BASE_URL"])
    return {"name": template.name, "messages": [MessageForm.slot_data(message) for message in messages]}


def _variants_changed(db: Session, form: ComposerForm, operation: str) -> dict:
    """The composer's data after a variant button (no JavaScript needed): "add" a variant (the first turns
    the content into A and a copy B), "remove-N", or "template-N" (variant N starts from the chosen template).
    Adding or removing resets the shares to an equal split; nothing is saved until "Save draft"."""
    data = {key: value for key, value in form.data.items() if key != "csrf_token"}
    variants = list(data["variants"])
    action, _dash, raw_index = operation.partition("-")
    index = int(raw_index) if raw_index.isdigit() and int(raw_index) < len(variants) else None
    if action == "add" and not variants:
        variants = [{"messages": data["messages"]}, {"messages": data["messages"]}]
    elif action == "add" and len(variants) < broadcast_variants.MAX_VARIANTS:
        variants.append({"messages": variants[0]["messages"]})
    elif action == "remove" and index is not None:
        del variants[index]
        if len(variants) < broadcast_variants.MIN_VARIANTS:  # one content left: no A/B test any more
            data["messages"], variants = variants[0]["messages"], []
    elif action == "template" and index is not None:
        chosen = _from_template(db, request.form.get(f"variant_template-{index}", type=int) or 0)
        variants[index] = {**variants[index], "messages": chosen["messages"]}
    if action in ("add", "remove"):
        for variant, weight in zip(variants, broadcast_variants.equal_weights(len(variants) or 1), strict=False):
            variant["weight"] = weight
    data["variants"] = variants
    if variants:
        data["messages"] = [{}] * MESSAGE_SLOTS
    return data


@bp.get("")
@requires("reports.view")
def index():
    """Every broadcast, newest first: status, schedule (Asia/Tokyo) and counts."""
    page = row_id_arg("page") or 1
    rows = broadcast_stats.recent(get_session(), limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    return render_template(
        "broadcasts/index.html",
        rows=rows[:PAGE_SIZE],
        page=page,
        more=len(rows) > PAGE_SIZE,
        labels=STATUS_LABELS,
        ab_tests=broadcast_variants.tested(get_session(), [broadcast.id for broadcast, _counts in rows[:PAGE_SIZE]]),
    )


@bp.route("/new", methods=["GET", "POST"])
@requires("broadcasts.send")
def new():
    """The composer for a new draft."""
    return _compose(None)


@bp.route("/<int:broadcast_id>/edit", methods=["GET", "POST"])
@requires("broadcasts.send")
def edit(broadcast_id: int):
    """Change a draft."""
    return _compose(load(get_session(), broadcast_id))


@bp.get("/count")
@requires("broadcasts.send")
def count():
    """The live recipient count of every friend, a saved segment, a quick audience (`tags`, `match`) or a
    draft's own tree (`broadcast`) (JSON for the composer)."""
    db = get_session()
    raw = request.args.get("segment", "")
    if raw == QUICK:
        tag_ids = [int(tag) for tag in request.args.getlist("tags") if tag.isdigit()]
        if not tag_ids or request.args.get("match") not in MATCH_WORDS:
            return jsonify(error=_("Tick at least one tag.")), 400
        try:
            _id, tree = clean_audience(db, None, tag_tree(tag_ids, request.args["match"]))
        except BroadcastError as error:
            return jsonify(error=message_of(error)), 400
        return jsonify(count=broadcasts.estimate(db, json.loads(tree), now=utcnow()))
    if raw == KEEP:
        broadcast = db.get(Broadcast, request.args.get("broadcast", type=int) or 0)
        tree = json.loads(broadcast.segment_tree) if broadcast is not None and broadcast.segment_tree else None
        return jsonify(count=broadcasts.estimate(db, tree, now=utcnow()))
    if raw and not raw.isdigit():
        return jsonify(error=_("Choose a segment from the list.")), 400
    segment = db.get(Segment, int(raw)) if raw else None
    if raw and segment is None:
        return jsonify(error=_("That segment no longer exists.")), 404
    tree = json.loads(segment.tree) if segment else None
    return jsonify(count=broadcasts.estimate(db, tree, now=utcnow()))


@bp.get("/<int:broadcast_id>")
@requires("reports.view")
def show(broadcast_id: int):
    """The broadcast: content, audience, options, status and the actions its status allows."""
    db = get_session()
    broadcast = load(db, broadcast_id)
    segment = db.get(Segment, broadcast.segment_id) if broadcast.segment_id else None
    goal = parse_goal(broadcast.goal)
    return render_template(
        "broadcasts/show.html",
        broadcast=broadcast,
        segment=segment,
        quick_audience=_quick_audience_words(db, broadcast.segment_tree),
        messages=json.loads(broadcast.messages),
        variants=broadcast_variants.of_broadcast(db, broadcast.id),
        labels=STATUS_LABELS,
        goal=goal,
        goal_name=goal_target_name(db, goal),
        action_form=ActionForm(),
        pause_reasons=PAUSE_REASONS,
    )


@bp.get("/<int:broadcast_id>/stats")
@requires("reports.view")
def stats(broadcast_id: int):
    """Statistics with the timeline after the send and the clicks per URL; the page refreshes itself while
    the broadcast is sending."""
    db = get_session()
    broadcast = load(db, broadcast_id)
    now = utcnow()
    figures = broadcast_stats.statistics(db, broadcast.id, now=now)
    links = [
        (destination, clicks, rate(clicks.unique_clickers, figures.sent))
        for destination, clicks in click_stats.broadcast_destinations(db, broadcast_id=broadcast.id)
    ]
    return render_template(
        "broadcasts/stats.html",
        broadcast=broadcast,
        stats=figures,
        timeline=broadcast_timeline.timeline(db, broadcast, now),
        links=links,
        goal_name=goal_target_name(db, parse_goal(broadcast.goal)),
        min_group=MIN_GROUP,
        labels=STATUS_LABELS,
        live=broadcast.status in (S.SENDING, S.SCHEDULED),
        pause_reasons=PAUSE_REASONS,
    )


def _quick_audience_words(db: Session, tree: str | None) -> str | None:
    """A quick audience in words, e.g. 「次のタグのいずれかがある友だち: VIP、常連」 (None: not a quick audience)."""
    quick = read_tag_tree(tree) if tree else None
    if quick is None:
        return None
    match, tag_ids = quick
    names = dict(db.execute(select(Tag.id, Tag.name).where(Tag.id.in_(tag_ids))).all())
    listed = _(", ").join(names.get(tag_id, _("(deleted tag)")) for tag_id in tag_ids)
    return f"{_(MATCH_WORDS[match])}: {listed}"


def friend_page_helpers() -> dict:
    """`friend_broadcasts(friend_id)` for the friend page's broadcasts section."""
    return {
        "friend_broadcasts": lambda friend_id: broadcast_stats.for_friend(get_session(), friend_id),
        "broadcast_state_labels": STATE_LABELS,
        "is_test_friend": lambda friend_id: testers.is_tester(get_session(), friend_id),
        "test_friend_form": ActionForm,
    }


def broadcast_names(session, ids: list[int]) -> dict[int, str]:
    """Broadcasts' names by id (the friend page's clicks card names the broadcast a link came in)."""
    return dict(session.execute(select(Broadcast.id, Broadcast.name).where(Broadcast.id.in_(ids))).all())
