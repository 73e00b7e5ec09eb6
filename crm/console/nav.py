"""The console navigation: areas shown when their blueprint is registered and the role may use them."""

from __future__ import annotations

from flask import Flask, current_app, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.permissions import can, masks_personal_data

NAV = (
    ("home.index", _l("Home"), "home.view"),
    ("friends.index", _l("Friends"), "friends.view"),
    ("tags.index", _l("Tags"), "tags.view"),
    ("fields.index", _l("Fields"), "fields.define"),
    ("surveys.index", _l("Surveys"), "surveys.edit"),
    ("surveys.results_index", _l("Survey results"), "reports.view"),
    ("broadcasts.index", _l("Broadcasts"), "reports.view"),
    ("message_templates.index", _l("Templates"), "templates.view"),
    ("scenarios.index", _l("Scenarios"), "reports.view"),
    ("auto_replies.index", _l("Auto-replies"), "auto_replies.manage"),
    ("richmenus.index", _l("Rich menus"), "richmenus.edit"),
    ("segments.index", _l("Segments"), "reports.view"),
    ("imports.index", _l("Import CSV"), "fields.set"),
    ("privacy.exports", _l("Export"), "friends.export"),
    ("audit.index", _l("Audit log"), "audit.view"),
    ("staff_admin.index", _l("Staff"), "staff.manage"),
    ("webhooks.index", _l("Webhooks"), "settings.manage"),
    ("webhook_failures.index", _l("Failed LINE events"), "settings.manage"),
    ("followers_import.index", _l("Followers import"), "settings.manage"),
    ("api_tokens.index", _l("API tokens"), "settings.manage"),
)


def nav_items() -> list[tuple[str, str]]:
    """(url, label) of the areas the signed-in staff member may open."""
    if not getattr(current_user, "is_authenticated", False):
        return []
    return [
        (url_for(endpoint), label)
        for endpoint, label, permission in NAV
        if endpoint in current_app.view_functions and can(current_user.role, permission)
    ]


def init_app(app: Flask) -> None:
    """Expose navigation and permission checks to templates."""

    @app.context_processor
    def _console_helpers():
        role = getattr(current_user, "role", None)
        return {
            "nav_items": nav_items,
            "can": lambda permission: can(role, permission),
            "masked": masks_personal_data(role) if role else False,
        }
