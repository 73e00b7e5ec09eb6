"""Helpers for the rich menu tests: real JPEG/PNG images (Pillow), menus built through the console, LINE state."""

from __future__ import annotations

import io
import re
import struct
import zlib

from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from crm.db import get_engine, session_scope
from crm.richmenus.models import RichMenu
from crm.staff.audit import Actor
from tests.console_helpers import csrf_token

FULL, HALF = (2500, 1686), (2500, 843)
SYSTEM = Actor.system("test")


def image_bytes(size: tuple[int, int], kind: str = "PNG", color=(200, 230, 210)) -> bytes:
    """A real image of this size and format."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, kind)
    return buffer.getvalue()


def png_of_length(size: tuple[int, int], length: int) -> bytes:
    """A valid PNG padded with a tEXt chunk to exactly `length` bytes."""
    base = image_bytes(size)
    header_end = 8 + 25  # signature + IHDR chunk
    padding = length - len(base) - 12 - len(b"pad\x00")
    body = b"tEXt" + b"pad\x00" + b"a" * padding
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    data = base[:header_end] + chunk + base[header_end:]
    assert len(data) == length
    return data


def new_menu(client, *, name="Main", chat_bar_text="メニュー", size="full", layout="cols2") -> int:
    """Create a draft menu through the console; return its id."""
    response = client.post(
        "/richmenus/new",
        data={
            "csrf_token": csrf_token(client, "/richmenus"),
            "name": name,
            "chat_bar_text": chat_bar_text,
            "size": size,
            "layout": layout,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/richmenus/(\d+)$", response.headers["Location"]).group(1))


def edit_form(client, menu_id: int) -> dict:
    """The builder form's fields as the page renders them (inputs, selected options)."""
    html = client.get(f"/richmenus/{menu_id}").get_data(as_text=True)
    builder = html[html.index('id="builder"') :]
    data = {"csrf_token": csrf_token(client, f"/richmenus/{menu_id}")}
    for tag in re.finditer(r"<input[^>]*>", builder):
        name = re.search(r'name="([^"]+)"', tag.group(0))
        value = re.search(r'value="([^"]*)"', tag.group(0))
        if name and name.group(1) != "csrf_token" and 'type="checkbox"' not in tag.group(0):
            data[name.group(1)] = value.group(1) if value else ""
        elif name and "checked" in tag.group(0):
            data[name.group(1)] = "y"
    for select_match in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', builder, re.S):
        chosen = re.search(
            r'<option[^>]*selected[^>]*value="([^"]*)"|<option value="([^"]*)" selected', select_match.group(2)
        )
        data[select_match.group(1)] = next((g for g in chosen.groups() if g is not None), "") if chosen else ""
    return data


def save_menu(client, menu_id: int, **changes):
    """Post the builder form with some fields changed."""
    return client.post(f"/richmenus/{menu_id}", data={**edit_form(client, menu_id), **changes})


def set_actions(client, menu_id: int, actions: list[tuple[str, str]], **changes):
    """Give the areas these (kind, value) actions, in order; the save must succeed."""
    fields = {}
    for index, (kind, value) in enumerate(actions):
        fields[f"areas-{index}-kind"], fields[f"areas-{index}-value"] = kind, value
    response = save_menu(client, menu_id, **fields, **changes)
    assert response.status_code == 302, response.get_data(as_text=True)


def upload(client, menu_id: int, data: bytes, filename: str = "menu.png"):
    """Upload an image through the console form (the body is encoded in memory: Werkzeug's test client
    would spool a large body to a temporary file it never closes)."""
    boundary, body = encode_multipart(
        {
            "csrf_token": csrf_token(client, f"/richmenus/{menu_id}"),
            "image": FileStorage(io.BytesIO(data), filename=filename),
        }
    )
    return client.post(
        f"/richmenus/{menu_id}/image", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def post_action(client, path: str, menu_id: int | None = None, **data):
    """Press a button form (CSRF token from the menu page or the list)."""
    page = f"/richmenus/{menu_id}" if menu_id else "/richmenus"
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


def publish(client, menu_id: int, *, default: bool = False):
    """Publish through the console."""
    return post_action(client, f"/richmenus/{menu_id}/publish", menu_id, **({"make_default": "y"} if default else {}))


def ready_menu(client, *, name="Main", size="full", layout="cols2", actions=None, image=None) -> int:
    """A menu with actions and an image, ready to publish."""
    menu_id = new_menu(client, name=name, size=size, layout=layout)
    set_actions(client, menu_id, actions or [("message", "hello"), ("uri", "https://example.com/")])
    assert upload(client, menu_id, image or image_bytes(FULL if size == "full" else HALF)).status_code == 302
    return menu_id


def menu_row(app, menu_id: int) -> RichMenu:
    with session_scope(get_engine(app)) as session:
        return session.get(RichMenu, menu_id)


def flashes(client, path: str) -> str:
    """The page's text (flash messages included)."""
    return client.get(path).get_data(as_text=True)
