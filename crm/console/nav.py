"""The console navigation: areas shown when their blueprint is registered and the role may use them."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.permissions import can, masks_personal_data

# The areas grouped by job, as staff look for them: who the friends are and talking to them, what is sent,
# what came of it, and how the account is set up. (endpoint, label, permission)
NAV_GROUPS = (
    (
        _l("Friends & chat"),
        (
            ("home.index", _l("Home"), "home.view"),
            ("friends.index", _l("Friends"), "friends.view"),
            ("inbox.index", _l("Chat inbox"), "chat.view"),
            ("tags.index", _l("Tags"), "tags.view"),
        ),
    ),
    (
        _l("Messaging"),
        (
            ("broadcasts.index", _l("Broadcasts"), "reports.view"),
            ("scenarios.index", _l("Scenarios"), "reports.view"),
            ("auto_replies.index", _l("Auto-replies"), "auto_replies.manage"),
            ("message_templates.index", _l("Templates"), "templates.view"),
            ("richmenus.index", _l("Rich menus"), "richmenus.edit"),
            ("surveys.index", _l("Surveys"), "surveys.edit"),
            ("segments.index", _l("Segments"), "reports.view"),
        ),
    ),
    (
        _l("Analysis"),
        (
            ("surveys.results_index", _l("Survey results"), "reports.view"),
            ("routes.index", _l("Inflow routes"), "routes.manage"),
            ("conversions.index", _l("Conversions"), "conversions.manage"),
            ("conversion_rfm.index", _l("RFM analysis"), "conversions.manage"),
            ("audit.index", _l("Audit log"), "audit.view"),
        ),
    ),
    (
        _l("Settings"),
        (
            ("fields.index", _l("Fields"), "fields.define"),
            ("imports.index", _l("Import CSV"), "fields.set"),
            ("privacy.exports", _l("Export"), "friends.export"),
            ("staff_admin.index", _l("Staff"), "staff.manage"),
            ("webhooks.index", _l("Webhooks"), "settings.manage"),
            ("webhook_failures.index", _l("Failed LINE events"), "settings.manage"),
            ("followers_import.index", _l("Followers import"), "settings.manage"),
            ("api_tokens.index", _l("API tokens"), "settings.manage"),
        ),
    ),
)


@dataclass(frozen=True)
class NavItem:
    url: str
    label: str
    current: bool  # the page shown belongs to this area


def nav_groups() -> list[tuple[str, list[NavItem]]]:
    """(group label, items) of the areas the signed-in staff member may open; empty groups are left out."""
    if not getattr(current_user, "is_authenticated", False):
        return []
    groups = []
    current = _current_entry()
    for group_label, entries in NAV_GROUPS:
        items = [
            NavItem(url_for(endpoint), str(label), endpoint == current)
            for endpoint, label, permission in entries
            if endpoint in current_app.view_functions and can(current_user.role, permission)
        ]
        if items:
            groups.append((str(group_label), items))
    return groups


def nav_items() -> list[tuple[str, str]]:
    """(url, label) of the areas the signed-in staff member may open, in menu order."""
    return [(item.url, item.label) for _, items in nav_groups() for item in items]


def _current_entry() -> str | None:
    """The menu entry of the page shown: its own, or the entry of the same blueprint that shares the view's
    first word (surveys.results_detail belongs to surveys.results_index), or the blueprint's first entry."""
    endpoint = request.endpoint or ""
    entries = [entry[0] for _, group in NAV_GROUPS for entry in group]
    if endpoint in entries:
        return endpoint
    blueprint, _, view = endpoint.rpartition(".")
    siblings = [entry for entry in entries if entry.rpartition(".")[0] == blueprint]
    same_word = [entry for entry in siblings if entry.rpartition(".")[2].split("_")[0] == view.split("_")[0]]
    return (same_word or siblings or [None])[0]


def init_app(app: Flask) -> None:
    """Expose navigation and permission checks to templates."""

    @app.context_processor
    def _console_helpers():
        role = getattr(current_user, "role", None)
        return {
            "nav_items": nav_items,
            "nav_groups": nav_groups,
            "can": lambda permission: can(role, permission),
            "masked": masks_personal_data(role) if role else False,
        }
