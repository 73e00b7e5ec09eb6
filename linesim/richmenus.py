"""Rich menus, their images, aliases, the default menu and per-user links (callers hold the state lock)."""

from __future__ import annotations

from linesim import ids
from linesim.errors import LineError

MAX_MENUS = 1000
MAX_ALIASES = 1000
NO_IMAGE = "must upload richmenu image before applying it to user"


class RichMenuStore:
    """The channel's rich menus as LINE keeps them."""

    def __init__(self):
        self.menus: dict[str, dict] = {}
        self.images: dict[str, tuple[bytes, str]] = {}
        self.aliases: dict[str, str] = {}
        self.default: str | None = None
        self.links: dict[str, str] = {}
        self.switched: dict[str, str] = {}  # menu a user switched to with a richmenuswitch action

    def create(self, menu: dict) -> str:
        """Store a validated rich menu object and return its new ID."""
        if len(self.menus) >= MAX_MENUS:
            raise LineError(400, "richmenu count exceeds the limit (1000)")
        menu_id = ids.rich_menu_id()
        self.menus[menu_id] = {"richMenuId": menu_id, **menu}
        return menu_id

    def get(self, menu_id: str) -> dict:
        """The rich menu with this ID, or 404."""
        if menu_id not in self.menus:
            raise LineError(404, "richmenu not found")
        return self.menus[menu_id]

    def delete(self, menu_id: str) -> None:
        """Delete a menu and unlink it everywhere; aliases to it are left dangling, as on LINE."""
        self.get(menu_id)
        del self.menus[menu_id]
        self.images.pop(menu_id, None)
        self.default = None if self.default == menu_id else self.default
        for table in (self.links, self.switched):
            for user_id in [user for user, linked in table.items() if linked == menu_id]:
                del table[user_id]

    def set_image(self, menu_id: str, data: bytes, content_type: str) -> None:
        """Attach the image; an image can't be replaced."""
        self.get(menu_id)
        if menu_id in self.images:
            raise LineError(400, "An image has already been uploaded to the richmenu")
        self.images[menu_id] = (data, content_type)

    def image(self, menu_id: str) -> tuple[bytes, str]:
        """The menu's image bytes and content type, or 404."""
        self.get(menu_id)
        if menu_id not in self.images:
            raise LineError(404, "richmenu image not found")
        return self.images[menu_id]

    def _applicable(self, menu_id: str) -> None:
        """A menu must exist and have an image before it is shown to anyone."""
        self.get(menu_id)
        if menu_id not in self.images:
            raise LineError(400, NO_IMAGE)

    def set_default(self, menu_id: str) -> None:
        """Make the menu everyone's default."""
        self._applicable(menu_id)
        self.default = menu_id

    def get_default(self) -> str:
        """The default menu's ID, or 404."""
        if self.default is None:
            raise LineError(404, "no default richmenu")
        return self.default

    def link(self, user_ids: list[str], menu_id: str) -> None:
        """Link the menu to users; it replaces any menu they had, immediately."""
        self._applicable(menu_id)
        for user_id in user_ids:
            self.links[user_id] = menu_id
            self.switched.pop(user_id, None)

    def unlink(self, user_ids: list[str]) -> None:
        """Remove users' per-user menus (they see the default again)."""
        for user_id in user_ids:
            self.links.pop(user_id, None)
            self.switched.pop(user_id, None)

    def linked(self, user_id: str) -> str:
        """The menu linked to the user, or 404."""
        if user_id not in self.links:
            raise LineError(404, "the user has no richmenu")
        return self.links[user_id]

    def create_alias(self, alias_id: str, menu_id: str) -> None:
        """Create an alias for a menu that has an image."""
        if alias_id in self.aliases:
            raise LineError(400, "conflict richmenu alias id")
        if len(self.aliases) >= MAX_ALIASES:
            raise LineError(400, "richmenu alias count exceeds the limit (1000)")
        self._applicable(menu_id)
        self.aliases[alias_id] = menu_id

    def update_alias(self, alias_id: str, menu_id: str) -> None:
        """Point an existing alias at another menu."""
        self.alias(alias_id)
        self._applicable(menu_id)
        self.aliases[alias_id] = menu_id

    def alias(self, alias_id: str) -> dict:
        """The alias object, or 404."""
        if alias_id not in self.aliases:
            raise LineError(404, "richmenu alias not found")
        return {"richMenuAliasId": alias_id, "richMenuId": self.aliases[alias_id]}

    def delete_alias(self, alias_id: str) -> None:
        """Delete an alias."""
        self.alias(alias_id)
        del self.aliases[alias_id]

    def displayed(self, user_id: str) -> tuple[str | None, str | None]:
        """The menu the user sees and why: switched, linked to the user, or the default."""
        for source, menu_id in (
            ("switched", self.switched.get(user_id)),
            ("user", self.links.get(user_id)),
            ("default", self.default),
        ):
            if menu_id is not None and menu_id in self.menus:
                return menu_id, source
        return None, None

    def switch(self, user_id: str, alias_id: str) -> str:
        """Show the alias's menu to the user; the status a richmenuswitch postback carries."""
        if alias_id not in self.aliases:
            return "RICHMENU_ALIAS_ID_NOTFOUND"
        menu_id = self.aliases[alias_id]
        if menu_id not in self.menus:
            return "RICHMENU_NOTFOUND"
        self.switched[user_id] = menu_id
        return "SUCCESS"
