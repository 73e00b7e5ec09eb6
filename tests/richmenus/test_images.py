"""Image checks before LINE is called: type by magic bytes, 1 MB, LINE's pixel rules, the menu's exact size."""

import io

import pytest
from PIL import Image

from crm.richmenus.image_check import MAX_IMAGE_BYTES, check_image
from crm.richmenus.layouts import RichMenuError
from tests.console_helpers import csrf_token, signed_in_client
from tests.richmenus.helpers import FULL, HALF, image_bytes, menu_row, new_menu, png_of_length, upload


def refused(data: bytes, expected=FULL) -> list[str]:
    with pytest.raises(RichMenuError) as caught:
        check_image(data, expected=expected)
    return [msgid % params for msgid, params in caught.value.problems]


@pytest.mark.parametrize("kind", ["PNG", "JPEG"])
@pytest.mark.parametrize("size", [FULL, HALF])
def test_png_and_jpeg_of_the_menus_size_are_accepted(kind, size):
    checked = check_image(image_bytes(size, kind), expected=size)
    assert (checked.width, checked.height) == size
    assert checked.content_type == {"PNG": "image/png", "JPEG": "image/jpeg"}[kind]


def test_exactly_one_megabyte_is_accepted_and_one_byte_more_is_not():
    assert check_image(png_of_length(FULL, MAX_IMAGE_BYTES), expected=FULL).width == 2500
    assert refused(png_of_length(FULL, MAX_IMAGE_BYTES + 1)) == [
        "The image is 1,048,577 bytes; LINE accepts at most 1 MB (1,048,576 bytes)."
    ]


@pytest.mark.parametrize(
    "data",
    [
        image_bytes(FULL, "GIF"),
        image_bytes(FULL, "BMP"),
        image_bytes(FULL, "WEBP"),
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"GIF89a" + b"\0" * 100,
    ],
)
def test_other_types_are_refused_by_their_bytes(data):
    assert refused(data) == ["Only JPEG and PNG images can be used, and this file is neither (whatever its name says)."]


def test_a_file_that_only_starts_like_a_png_is_refused():
    assert refused(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10) == [
        "The file starts like a PNG image but cannot be read as one."
    ]


@pytest.mark.parametrize("kind", ["PNG", "JPEG"])
def test_a_cut_off_image_is_refused(kind):
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize(HALF).convert("RGB").save(buffer, kind)
    data = buffer.getvalue()
    assert refused(data[: len(data) * 9 // 10], expected=HALF) == [f"The {kind} image is damaged or incomplete."]


@pytest.mark.parametrize(
    ("size", "expected_size", "problems"),
    [
        ((799, 540), (799, 540), ["The image is 799 pixels wide; LINE needs 800 to 2500."]),
        ((2501, 1000), (2501, 1000), ["The image is 2501 pixels wide; LINE needs 800 to 2500."]),
        ((800, 249), (800, 249), ["The image is 249 pixels high; LINE needs at least 250."]),
        ((1440, 1000), (1440, 1000), ["The image's width ÷ height is 1.440; LINE needs at least 1.45."]),
    ],
)
def test_lines_pixel_rules(size, expected_size, problems):
    assert refused(image_bytes(size), expected=expected_size) == problems


def test_an_image_of_the_other_menu_size_is_refused():
    assert refused(image_bytes(HALF), expected=FULL) == [
        "The image is 2500 × 843 but this menu's size is 2500 × 1686. Use an image of exactly that size, "
        "or change the menu's size."
    ]


def test_ratio_1_45_is_the_boundary():
    assert check_image(image_bytes((1450, 1000)), expected=(1450, 1000)).width == 1450


@pytest.fixture
def editor(app):
    return signed_in_client(app, "editor", locale="en")


def page_errors(response) -> str:
    assert response.status_code == 400
    return response.get_data(as_text=True)


def test_upload_in_the_console_stores_the_image_and_shows_it(app, editor):
    menu_id = new_menu(editor)
    assert upload(editor, menu_id, image_bytes(FULL, "JPEG"), "menu.jpg").status_code == 302
    served = editor.get(f"/richmenus/{menu_id}/image")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert served.data.startswith(b"\xff\xd8\xff") and served.headers["X-Content-Type-Options"] == "nosniff"
    assert menu_row(app, menu_id).revision == 2
    html = editor.get(f"/richmenus/{menu_id}").get_data(as_text=True)
    assert f"/richmenus/{menu_id}/image?v=2" in html and "Upload the menu&#39;s image first." not in html


def test_console_upload_refuses_a_gif_named_png(app, editor, sim):
    menu_id = new_menu(editor)
    html = page_errors(upload(editor, menu_id, image_bytes(FULL, "GIF"), "menu.png"))
    assert "Only JPEG and PNG images can be used, and this file is neither (whatever its name says)." in html
    assert editor.get(f"/richmenus/{menu_id}/image").status_code == 404
    assert sim.requests_log(path="/richmenu") == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (png_of_length(FULL, MAX_IMAGE_BYTES + 1), "The image is 1,048,577 bytes; LINE accepts at most 1 MB"),
        (image_bytes((799, 540)), "The image is 799 pixels wide; LINE needs 800 to 2500."),
        (image_bytes((1440, 1000)), "The image&#39;s width ÷ height is 1.440; LINE needs at least 1.45."),
        (image_bytes(HALF), "The image is 2500 × 843 but this menu&#39;s size is 2500 × 1686."),
    ],
)
def test_console_upload_edge_cases_are_refused_with_a_clear_message(app, editor, data, message):
    menu_id = new_menu(editor)
    assert message in page_errors(upload(editor, menu_id, data))
    assert editor.get(f"/richmenus/{menu_id}/image").status_code == 404


def test_a_huge_upload_gets_a_clear_message_not_a_413_page(app, editor):
    menu_id = new_menu(editor)
    response = upload(editor, menu_id, b"\x89PNG\r\n\x1a\n" + b"\0" * (5 * 1024 * 1024))
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/richmenus/{menu_id}")
    html = editor.get(f"/richmenus/{menu_id}").get_data(as_text=True)
    assert "The file is larger than 1 MB, LINE&#39;s limit for rich menu images." in html
    assert editor.get(f"/richmenus/{menu_id}/image").status_code == 404


def test_uploading_without_a_file_asks_for_one(app, editor):
    menu_id = new_menu(editor)
    response = editor.post(
        f"/richmenus/{menu_id}/image",
        content_type="multipart/form-data",
        data={"csrf_token": csrf_token(editor, f"/richmenus/{menu_id}")},
    )
    assert "Choose an image file to upload." in page_errors(response)
