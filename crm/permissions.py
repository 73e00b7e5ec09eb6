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
    "chat.send": frozenset({"admin", "staff"}),
    "notes.write": frozenset({"admin", "staff"}),
    "notes.edit_any": frozenset({"admin"}),
    "fields.set": frozenset({"admin", "staff"}),
    "fields.define": frozenset({"admin"}),
    "tags.view": frozenset({"admin", "marketer", "editor", "staff", "analyst"}),
    "tags.manage": frozenset({"admin", "marketer", "staff"}),
    "segments.manage": frozenset({"admin", "marketer"}),
    "broadcasts.send": frozenset({"admin", "marketer"}),
    "surveys.edit": frozenset({"admin", "marketer", "editor"}),
    "richmenus.edit": frozenset({"admin", "marketer", "editor"}),
    "templates.edit": frozenset({"admin", "marketer", "editor"}),
    "reports.view": frozenset({"admin", "marketer", "analyst"}),
    "audit.view": frozenset({"admin"}),
    "staff.manage": frozenset({"admin"}),
    "settings.manage": frozenset({"admin"}),
    "data.erase": frozenset({"admin"}),
}

ROLE_LABELS = {"admin": "管理者 / Admin", "marketer": "マーケター / Marketer", "editor": "編集者 / Editor",
               "staff": "スタッフ / Staff", "analyst": "アナリスト / Analyst"}


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
