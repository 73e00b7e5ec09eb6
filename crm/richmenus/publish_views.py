"""What friends see on LINE: publish and unpublish rich menus, the default menu, and the tag rules."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms.fields import SelectChoice

from crm.console.guard import current_actor, requires
from crm.db import UnitOfWork, get_engine, get_session, unit_of_work
from crm.i18n import messages_of, translate
from crm.line.runtime import line_client
from crm.richmenus import drafts as richmenus
from crm.richmenus import live as richmenu_live
from crm.richmenus import publish as richmenu_publish
from crm.richmenus import rules as richmenu_rules
from crm.richmenus.forms import ActionForm, PublishForm, RuleForm
from crm.richmenus.jobs import relink_round
from crm.richmenus.layouts import RichMenuError
from crm.richmenus.views import menu_or_404
from crm.tags import admin as tag_admin
from crm.tags import service as tags

log = logging.getLogger(__name__)
bp = Blueprint("richmenu_publish", __name__, url_prefix="/richmenus")


@bp.record_once
def _listen_to_tags(_state) -> None:
    """Queue friends for the tag rules whenever their tags change (registered once per process)."""
    tags.on_tags_changed(richmenu_rules.on_tags_changed)


@bp.after_app_request
def _apply_queued_relinks(response):
    """After any request that queued friends (tagging, rules, unpublishing), apply the rules on LINE now.

    The request's own work is committed by then; whatever fails here stays queued for the next request
    or the worker."""
    session = g.get("db_session")
    if session is None or not session.info.pop(richmenu_rules.RELINK_QUEUED, False):
        return response
    session.rollback()  # release anything the request session still holds before writing again
    try:
        result = relink_round(get_engine(current_app), line_client(current_app))
        log.info("richmenu_relinked friends=%s linked=%s unlinked=%s", result.friends, result.linked, result.unlinked)
    except Exception:  # noqa: BLE001 - the queue keeps the work; never fail the user's request here
        log.exception("richmenu_relink_failed")
    return response


def _back(menu_id: int):
    return redirect(url_for("richmenus.edit", menu_id=menu_id))


def _line_work() -> UnitOfWork:
    """Work that calls LINE: a refusal still commits the record of the calls made (they count toward LINE's
    hourly limit) and flashes the problem."""
    return unit_of_work(RichMenuError, flash_error=True, commit_on_error=True)


def publish_summary(relinked: int, queued: int, *, made_default: bool) -> str:
    """What publishing did, in words that say who now sees the menu."""
    parts = [_("Published on LINE.")]
    if made_default:
        parts.append(_("It is now the default menu: every friend without a menu of their own sees it."))
    if relinked:
        parts.append(_("%(count)d friends who had the previous version now see the new one.", count=relinked))
    if queued:
        parts.append(_("%(count)d friends will see it through tag rules.", count=queued))
    if not (made_default or relinked or queued):
        parts.append(_("Nobody sees it yet: make it the default or add a tag rule."))
    return " ".join(parts)


@bp.post("/<int:menu_id>/publish")
@requires("richmenus.edit")
def publish(menu_id: int):
    """Publish the menu (again): a new LINE menu replaces the live one, which is then deleted."""
    db = get_session()
    menu_or_404(db, menu_id)
    form = PublishForm()
    if not form.validate_on_submit():
        abort(400)
    with _line_work() as work:  # the menu's tracked links, committed before LINE is called
        body = richmenu_publish.menu_body(db, menu_id=menu_id, base_url=current_app.config.get("PUBLIC_BASE_URL") or "")
    if work.failed:
        return _back(menu_id)
    with _line_work() as work:
        result = richmenu_publish.publish(
            db,
            client=line_client(current_app),
            menu_id=menu_id,
            body=body,
            make_default=bool(form.make_default.data),
            actor=current_actor(),
        )
    if work.failed:
        return _back(menu_id)
    flash(publish_summary(result.relinked, result.queued, made_default=bool(form.make_default.data)), "success")
    for warning in result.warnings:
        flash(translate(*warning), "error")
    return _back(menu_id)


@bp.post("/<int:menu_id>/unpublish")
@requires("richmenus.edit")
def unpublish(menu_id: int):
    """Take the menu off LINE: unlink the friends the CRM linked and delete the LINE menu."""
    db = get_session()
    menu_or_404(db, menu_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    with _line_work() as work:
        result = richmenu_live.unpublish(db, client=line_client(current_app), menu_id=menu_id, actor=current_actor())
    if work.failed:
        return _back(menu_id)
    flash(_("Unpublished. %(count)d friends no longer see it.", count=result.unlinked), "success")
    for warning in result.warnings:
        flash(translate(*warning), "error")
    return _back(menu_id)


@bp.post("/<int:menu_id>/default")
@requires("richmenus.edit")
def make_default(menu_id: int):
    """Make a published menu the default for every friend."""
    db = get_session()
    menu_or_404(db, menu_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    with _line_work() as work:
        richmenu_live.set_default(db, client=line_client(current_app), menu_id=menu_id, actor=current_actor())
    if not work.failed:
        flash(_("This is now the default menu."), "success")
    return _back(menu_id)


@bp.post("/default/clear")
@requires("richmenus.edit")
def clear_default():
    """Remove the default menu."""
    db = get_session()
    if not ActionForm().validate_on_submit():
        abort(400)
    with unit_of_work(RichMenuError, flash_error=True) as work:
        richmenu_live.clear_default(db, client=line_client(current_app), actor=current_actor())
    if not work.failed:
        flash(_("There is no default menu now."), "success")
    return redirect(url_for("richmenus.index"))


def _rule_form(db, **kwargs) -> RuleForm:
    form = RuleForm(**kwargs)
    form.tag.choices = [
        SelectChoice(tag.id, tag.name) for _folder, group in tag_admin.tags_by_folder(db) for tag in group
    ]
    form.menu.choices = [SelectChoice(menu.id, menu.name) for menu in richmenus.list_menus(db)]
    return form


def _rules_page(form: RuleForm | None = None, errors: list[str] | None = None, status: int = 200):
    db = get_session()
    return render_template(
        "richmenus/rules.html",
        rules=richmenu_rules.list_rules(db),
        form=form or _rule_form(db, formdata=None),
        errors=errors or [],
        action_form=ActionForm(formdata=None),
        pending=richmenu_rules.pending_count(db),
    ), status


@bp.get("/rules")
@requires("richmenus.edit")
def rules():
    """The tag rules in the order they are tried."""
    return _rules_page()


@bp.post("/rules")
@requires("richmenus.edit")
def add_rule():
    """Add a rule at the end; friends with the tag get the menu (once it is published)."""
    db = get_session()
    form = _rule_form(db)
    if not form.validate_on_submit():
        return _rules_page(form, status=400)
    with unit_of_work(RichMenuError) as work:
        richmenu_rules.add_rule(db, tag_id=form.tag.data, menu_id=form.menu.data, actor=current_actor())
    if work.failed:
        return _rules_page(form, messages_of(work.error), 400)
    flash(_("Rule added."), "success")
    return redirect(url_for("richmenu_publish.rules"))


@bp.post("/rules/<int:rule_id>/move")
@requires("richmenus.edit")
def move_rule(rule_id: int):
    """Move a rule up or down."""
    db = get_session()
    direction = request.form.get("direction")
    if not ActionForm().validate_on_submit() or direction not in ("up", "down"):
        abort(400)
    with unit_of_work(LookupError) as work:
        richmenu_rules.move_rule(db, rule_id=rule_id, up=direction == "up", actor=current_actor())
    if work.failed:
        abort(404)
    return redirect(url_for("richmenu_publish.rules"))


@bp.post("/rules/<int:rule_id>/delete")
@requires("richmenus.edit")
def delete_rule(rule_id: int):
    """Delete a rule; its friends get the next matching rule's menu, or the default."""
    db = get_session()
    if not ActionForm().validate_on_submit():
        abort(400)
    with unit_of_work(LookupError) as work:
        richmenu_rules.delete_rule(db, rule_id=rule_id, actor=current_actor())
    if work.failed:
        abort(404)
    flash(_("Rule deleted."), "success")
    return redirect(url_for("richmenu_publish.rules"))


@bp.post("/rules/apply")
@requires("richmenus.edit")
def apply_rules():
    """Apply the rules to every friend they concern (bulk links of up to 500 friends a call)."""
    db = get_session()
    if not ActionForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        queued = richmenu_rules.queue_everyone(db, actor=current_actor())
    flash(_("The rules are being applied to %(count)d friends.", count=queued), "success")
    return redirect(url_for("richmenu_publish.rules"))
