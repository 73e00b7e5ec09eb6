"""The auto-replies console: the rules in priority order with their hits, the rule editor, the row buttons
(on/off, up/down, copy, delete), the emergency stop and the 「試す」 box."""

from __future__ import annotations

import json

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import Session, select
from wtforms.fields import SelectChoice

from crm.actions import forms as action_forms
from crm.actions.engine import describe_actions
from crm.auto_replies import rules as service
from crm.auto_replies import switch
from crm.auto_replies.errors import AutoReplyError
from crm.auto_replies.forms import KIND_LABELS, ButtonForm, RuleForm, TryForm, rule_data
from crm.auto_replies.models import AutoReplyRule, RuleKind
from crm.auto_replies.stats import hits_by_rule
from crm.auto_replies.trial import try_text
from crm.console.forms import form_error
from crm.console.guard import current_actor, requires
from crm.db import get_session, unit_of_work
from crm.errors import N_
from crm.friends.models import Friend, FriendStatus
from crm.message_templates.models import MessageTemplate
from crm.permissions import visible_name
from crm.segments.condition_select import chosen_tree, condition_choices
from crm.timeutil import utcnow

bp = Blueprint("auto_replies", __name__, url_prefix="/auto-replies")
PERMISSION = "auto_replies.manage"
TRY_FRIENDS = 50
OPERATIONS = ("enable", "disable", "up", "down", "copy", "delete")


@bp.get("")
@requires(PERMISSION)
def index():
    """The rules, the stop switch and the 試す box."""
    db = get_session()
    try_form = TryForm(request.args)
    try_form.friend.choices = _friend_choices(db)
    trial = None
    if request.args.get("text") and try_form.validate():
        friend_id = int(try_form.friend.data) if (try_form.friend.data or "").isdigit() else None
        trial = try_text(db, text=try_form.text.data, friend_id=friend_id, now=utcnow())
    rules = service.list_rules(db)
    templates = {t.id: t.name for t in db.exec(select(MessageTemplate))}
    return render_template(
        "auto_replies/index.html",
        rules=rules,
        keyword_rules=[rule for rule in rules if rule.kind == RuleKind.KEYWORD],
        fallbacks=[rule for rule in rules if rule.kind != RuleKind.KEYWORD],
        hits=hits_by_rule(db, now=utcnow()),
        templates=templates,
        keywords_of=lambda rule: json.loads(rule.keywords),
        kind_labels=KIND_LABELS,
        state=switch.settings(db),
        button=ButtonForm(),
        try_form=try_form,
        trial=trial,
    )


def _friend_choices(db: Session) -> list[SelectChoice]:
    """The friends who wrote last (a trial as nobody in particular ignores friend conditions)."""
    recent = db.exec(
        select(Friend)
        .where(Friend.status == FriendStatus.FOLLOWING)
        .order_by(Friend.last_interaction_at.desc(), Friend.id.desc())
        .limit(TRY_FRIENDS)
    )
    return [SelectChoice("", _("(any friend)"))] + [
        SelectChoice(str(f.id), visible_name(f, current_user.role)) for f in recent
    ]


def _form(db: Session, rule: AutoReplyRule | None) -> RuleForm:
    form = RuleForm(data=rule_data(rule)) if rule is not None and request.method == "GET" else RuleForm()
    form.condition_segment.choices = condition_choices(
        db, rule.condition_tree if rule else None, none_label=_("Every friend")
    )
    live = db.exec(select(MessageTemplate).where(MessageTemplate.archived.is_(False)).order_by(MessageTemplate.name))
    form.template_id.choices = [SelectChoice("", _("(no template: actions only)"))] + [
        SelectChoice(str(t.id), f"{t.folder} / {t.name}" if t.folder else t.name) for t in live
    ]
    return form


def _editor(db: Session, rule: AutoReplyRule | None):
    current = json.loads(rule.actions) if rule is not None else []
    if request.method == "POST":
        current = action_forms.parse_actions(request.form, "actions")
    return action_forms.editor(db, name="actions", actions=current)


def _rule_page(rule: AutoReplyRule | None, kind: str):
    db = get_session()
    form = _form(db, rule)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            with unit_of_work(AutoReplyError) as work:
                tree = chosen_tree(
                    db,
                    form.condition_segment.data,
                    rule.condition_tree if rule else None,
                    gone=lambda: AutoReplyError(N_("That segment no longer exists."), field="condition_segment"),
                )
                values = form.values(
                    kind=kind, condition_tree=tree, actions=action_forms.parse_actions(request.form, "actions")
                )
                if rule is None:
                    service.create_rule(db, actor=current_actor(), values=values)
                else:
                    service.update_rule(db, actor=current_actor(), rule_id=rule.id, values=values)
            if not work.failed:
                flash(_("Auto-reply saved."), "success")
                return redirect(url_for("auto_replies.index"))
            field = {"start_minute": "start_time", "condition_tree": "condition_segment"}.get(work.error.field)
            work.error.field = field or work.error.field
            form_error(form, work.error, "name")
        status = 400
    page = render_template(
        "auto_replies/edit.html",
        form=form,
        rule=rule,
        kind=kind,
        kind_label=KIND_LABELS[kind],
        editor=_editor(db, rule),
    )
    return page, status


@bp.route("/new", methods=["GET", "POST"])
@requires(PERMISSION)
def new():
    """A new rule of the kind asked for (a keyword rule unless told)."""
    kind = request.args.get("kind", RuleKind.KEYWORD)
    if kind not in KIND_LABELS:
        abort(404)
    return _rule_page(None, kind)


def _load(db: Session, rule_id: int) -> AutoReplyRule:
    rule = db.get(AutoReplyRule, rule_id)
    if rule is None:
        abort(404)
    return rule


@bp.route("/<int:rule_id>", methods=["GET", "POST"])
@requires(PERMISSION)
def edit(rule_id: int):
    rule = _load(get_session(), rule_id)
    return _rule_page(rule, rule.kind)


@bp.post("/<int:rule_id>/<operation>")
@requires(PERMISSION)
def change(rule_id: int, operation: str):
    """A row's button: switch on or off, move up or down, copy, delete."""
    db = get_session()
    _load(db, rule_id)
    if operation not in OPERATIONS:
        abort(404)
    if not ButtonForm().validate_on_submit():
        flash(_("The form expired. Try again."), "error")
        return redirect(url_for("auto_replies.index"))
    actor = current_actor()
    with unit_of_work(AutoReplyError, flash_error=True):
        if operation in ("enable", "disable"):
            service.set_enabled(db, actor=actor, rule_id=rule_id, enabled=operation == "enable")
        elif operation in ("up", "down"):
            service.move_rule(db, actor=actor, rule_id=rule_id, direction=operation)
        elif operation == "copy":
            service.copy_rule(db, actor=actor, rule_id=rule_id)
        else:
            service.delete_rule(db, actor=actor, rule_id=rule_id)
    return redirect(url_for("auto_replies.index"))


@bp.post("/stop")
@requires(PERMISSION)
def stop():
    """The emergency stop: pause (stopped=1) or resume (stopped=0) every automatic answer."""
    if not ButtonForm().validate_on_submit():
        flash(_("The form expired. Try again."), "error")
        return redirect(url_for("auto_replies.index"))
    stopped = request.form.get("stopped") == "1"
    with unit_of_work():
        switch.set_stopped(get_session(), actor=current_actor(), stopped=stopped)
    if stopped:
        flash(_("Every automatic answer is paused."), "success")
    else:
        flash(_("Automatic answers are back on."), "success")
    return redirect(url_for("auto_replies.index"))


def template_helpers() -> dict:
    """`describe_rule_actions(rule)` for the list."""
    return {"describe_rule_actions": lambda rule: describe_actions(get_session(), json.loads(rule.actions))}
