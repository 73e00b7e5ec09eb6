"""Images users send: LINE keeps their bytes for the bot at GET /v2/bot/message/{id}/content (api-data)."""

from __future__ import annotations

import pytest
import requests
from linebot.v3.messaging.exceptions import NotFoundException

from linesim.client import SimulatorError
from linesim.images import PNG_MAGIC, png_size
from tests.simulator.images import jpeg


def sent_image_id(result: dict) -> str:
    return result["event"]["message"]["id"]


def test_a_sent_image_is_served_with_its_type_to_the_channel(control, line_api, friend):
    photo = jpeg(640, 480)
    message_id = sent_image_id(control.send_image(friend, photo, "image/jpeg"))

    response = line_api.get(f"/v2/bot/message/{message_id}/content")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.content == photo


def test_without_bytes_the_sample_photo_is_sent(control, line_api, friend, receiver):
    result = control.send_message(friend, {"type": "image"})
    event = result["event"]

    content = line_api.get(f"/v2/bot/message/{event['message']['id']}/content")

    assert event["message"]["contentProvider"] == {"type": "line"}
    assert "contentBase64" not in receiver.last["body"]
    assert content.headers["Content-Type"] == "image/png"
    assert content.content.startswith(PNG_MAGIC) and png_size(content.content) == (320, 240)


def test_the_sdk_blob_api_reads_the_content(blob, control, friend):
    message_id = sent_image_id(control.send_image(friend))

    assert bytes(blob.get_message_content(message_id)).startswith(PNG_MAGIC)


def test_auth_is_checked_and_unknown_or_expired_ids_are_404(control, line_api, friend):
    message_id = sent_image_id(control.send_image(friend))
    text_id = control.send_text(friend, "hello")["event"]["message"]["id"]

    assert line_api.get(f"/v2/bot/message/{message_id}/content", token=None).status_code == 401
    assert line_api.get(f"/v2/bot/message/{message_id}/content", token="wrong").status_code == 401
    assert line_api.get(f"/v2/bot/message/{text_id}/content").status_code == 404
    control.expire_content(message_id)
    response = line_api.get(f"/v2/bot/message/{message_id}/content")
    assert response.status_code == 404
    assert response.json() == {"message": "Not found"}


def test_sdk_sees_404_for_an_expired_image(blob, control, friend):
    message_id = sent_image_id(control.send_image(friend))
    control.expire_content(message_id)

    with pytest.raises(NotFoundException):
        blob.get_message_content(message_id)


@pytest.mark.parametrize(
    "body",
    [
        {"type": "image", "contentBase64": "aGVsbG8=", "contentType": "text/html"},
        {"type": "image", "contentBase64": "not base64!", "contentType": "image/png"},
        {"type": "image", "contentBase64": "", "contentType": "image/png"},
    ],
)
def test_bad_image_bytes_are_refused(control, friend, body):
    with pytest.raises(SimulatorError) as error:
        control.send_message(friend, body)
    assert error.value.status == 400


def test_the_chat_page_shows_a_sent_image(control, sim_url, friend):
    message_id = sent_image_id(control.send_image(friend))
    page = requests.get(f"{sim_url}/chat/{friend}/panel", timeout=10).text
    image = requests.get(f"{sim_url}/_sim/contents/{message_id}", timeout=10)

    assert f'src="/_sim/contents/{message_id}"' in page
    assert image.status_code == 200 and image.content.startswith(PNG_MAGIC)


def test_a_video_is_served_with_a_preview_image_and_its_length_in_the_event(blob, control, line_api, friend):
    clip = b"\x00\x00\x00\x18ftypmp42" + bytes(2000)
    event = control.send_media(friend, "video", clip, "video/mp4", duration=42000)["event"]
    message_id = event["message"]["id"]

    content = line_api.get(f"/v2/bot/message/{message_id}/content")
    preview = line_api.get(f"/v2/bot/message/{message_id}/content/preview")

    assert event["message"]["duration"] == 42000 and event["message"]["contentProvider"] == {"type": "line"}
    assert content.headers["Content-Type"] == "video/mp4" and content.content == clip
    assert preview.headers["Content-Type"] == "image/png" and png_size(preview.content) == (320, 240)
    assert bytes(blob.get_message_content_preview(message_id)) == preview.content  # as the SDK reads it


def test_a_voice_message_and_a_file_keep_their_bytes_without_a_preview(control, line_api, friend):
    voice = control.send_media(friend, "audio")["event"]["message"]
    report = "売上報告".encode() * 10
    file = control.send_media(friend, "file", report, "application/pdf", fileName="報告.pdf")["event"]["message"]

    assert line_api.get(f"/v2/bot/message/{voice['id']}/content").headers["Content-Type"] == "audio/x-m4a"
    assert line_api.get(f"/v2/bot/message/{file['id']}/content").content == report
    assert (file["fileName"], file["fileSize"]) == ("報告.pdf", len(report))  # the size of its bytes
    for message in (voice, file):
        assert line_api.get(f"/v2/bot/message/{message['id']}/content/preview").status_code == 404


def test_an_expired_video_loses_its_preview_too(control, line_api, friend):
    message_id = control.send_media(friend, "video")["event"]["message"]["id"]
    control.expire_content(message_id)

    assert line_api.get(f"/v2/bot/message/{message_id}/content").status_code == 404
    assert line_api.get(f"/v2/bot/message/{message_id}/content/preview").status_code == 404
