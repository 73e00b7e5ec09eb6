"""Roles and what each may do: the one permission table, enforced on every console route."""

from __future__ import annotations

ROLES = ("admin", "marketer", "editor", "staff", "analyst")

# permission -> roles that hold it (admin holds everything)
PERMISSIONS: dict[str, frozenset[str]] = {
    "home.view": frozenset(ROLES),
    "friends.view": frozenset({"admin", "marketer", "staff", "analyst"}),
    "friends.view_personal": frozenset({"admin", "marketer", "staff"}),
    "friends.edit": frozenset({"admin", "staff"}),
    "friends.bulk": frozenset({"admin", "marketer", "staff"}),
    "friends.export": frozenset({"admin"}),
    "chat.view": frozenset({"admin", "marketer", "staff"}),
    "chat.send": frozenset({"admin", "staff"}),
    "notes.write": frozenset({"admin", "staff"}),
    "notes.edit_any": frozenset({"admin"}),
    "fields.set": frozenset({"admin", "staff"}),
    "fields.define": frozenset({"admin"}),
    "tags.view": frozenset({"admin", "marketer", "editor", "staff", "analyst"}),
    "tags.manage": frozenset({"admin", "marketer", "staff"}),
    "segments.manage": frozenset({"admin", "marketer"}),
    "broadcasts.send": frozenset({"admin", "marketer"}),
    "scenarios.manage": frozenset({"admin", "marketer"}),
    "auto_replies.manage": frozenset({"admin", "marketer", "staff"}),
    "conversions.manage": frozenset({"admin", "marketer"}),
    "surveys.edit": frozenset({"admin", "marketer", "editor"}),
    "richmenus.edit": frozenset({"admin", "marketer", "editor"}),
    "templates.view": frozenset({"admin", "marketer", "editor"}),  # who edits templates or sends broadcasts
    "templates.edit": frozenset({"admin", "marketer", "editor"}),
    "reports.view": frozenset({"admin", "marketer", "analyst"}),
    "routes.manage": frozenset({"admin", "marketer"}),
    "audit.view": frozenset({"admin"}),
    "staff.manage": frozenset({"admin"}),
    "settings.manage": frozenset({"admin"}),
    "data.erase": frozenset({"admin"}),
}

ROLE_LABELS = {
    "admin": "管理者 / Admin",
    "marketer": "マーケター / Marketer",
    "editor": "編集者 / Editor",
    "staff": "スタッフ / Staff",
    "analyst": "アナリスト / Analyst",
}


# permission -> what it allows, for docs/permissions.md
DESCRIPTIONS: dict[str, str] = {
    "home.view": "Open the home page with today's figures",
    "friends.view": "See the friend list and friend pages",
    "friends.view_personal": "See names, pictures, note and chat text (without it they are masked)",
    "friends.edit": "Change a friend's details on their page",
    "friends.bulk": "Act on many friends at once (bulk tagging)",
    "friends.export": "Export friends as CSV or JSON",
    "chat.view": "Open the chat inbox and read conversations",
    "chat.send": "Reply to a friend 1:1 and assign conversations",
    "notes.write": "Write notes on friends",
    "notes.edit_any": "Edit or delete notes written by others",
    "fields.set": "Set a friend's field values",
    "fields.define": "Define custom fields",
    "tags.view": "See tags, folders and how many friends have each tag",
    "tags.manage": "Create, rename and delete tags and tag folders",
    "segments.manage": "Build and save segments",
    "broadcasts.send": "Send and schedule broadcasts",
    "scenarios.manage": "Build, start, pause and test step scenarios, and enrol or remove friends",
    "auto_replies.manage": "Build auto-replies, see their hits, and pause every automatic answer at once",
    "conversions.manage": "Set up conversion points, record and import conversions, and see conversions and RFM",
    "surveys.edit": "Build surveys",
    "richmenus.edit": "Build rich menus",
    "templates.view": "See message templates and their previews (to send or edit them)",
    "templates.edit": "Edit message templates",
    "reports.view": "See reports and statistics",
    "routes.manage": "Build inflow routes (URL and QR code), see their statistics and export them",
    "audit.view": "Browse the audit log",
    "staff.manage": "Create staff accounts, change roles, deactivate, reset passwords",
    "settings.manage": "Change the account settings",
    "data.erase": "Erase a friend's data on request",
}


def can(role: str | None, permission: str) -> bool:
    """Tell whether a role holds a permission; unknown permissions are denied."""
    if role is None:
        return False
    return role in PERMISSIONS.get(permission, frozenset())


def masks_personal_data(role: str | None) -> bool:
    """Roles without personal-data access see masked names, no pictures, no note or chat text."""
    return not can(role, "friends.view_personal")


def mask_name(name: str | None) -> str:
    """Shorten a display name to its first character plus marks."""
    if not name:
        return "—"
    return name[0] + "＊＊"


def visible_name(friend, role: str | None) -> str:
    """A friend's display name as this role may see it: masked for roles without personal-data access."""
    return mask_name(friend.display_name) if masks_personal_data(role) else friend.display_name


def permission_table_markdown() -> str:
    """Render the permission table as the Markdown of docs/permissions.md."""
    header = "| Permission | What it allows | " + " | ".join(ROLE_LABELS[role] for role in ROLES) + " |"
    lines = [
        "# Permissions (権限)",
        "",
        "<!-- Generated from crm/permissions.py by permission_table_markdown(); do not edit by hand. -->",
        '<!-- Regenerate: .venv/bin/python -c "from crm.permissions import permission_table_markdown as t;'
        " print(t(), end='')\" > docs/permissions.md -->",
        "",
        "What each staff role may do in the console. Every console route requires one of these permissions;",
        "a role without it gets 403. Roles without `friends.view_personal`"
        f" ({', '.join(role for role in ROLES if masks_personal_data(role))}) see names masked,",
        "and no pictures, note or chat text.",
        "",
        header,
        "|---|---|" + ":-:|" * len(ROLES),
    ]
    for permission, roles in PERMISSIONS.items():
        marks = " | ".join("✓" if role in roles else "" for role in ROLES)
        lines.append(f"| `{permission}` | {DESCRIPTIONS.get(permission, '')} | {marks} |")
    return "\n".join(lines) + "\n"
