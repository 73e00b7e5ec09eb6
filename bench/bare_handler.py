"""The floor of any Python LINE webhook: Flask and line-bot-sdk v3's WebhookParser, nothing else.

gunicorn 'bench.bare_handler:create_app()'
"""

from __future__ import annotations

import os

from flask import Flask, abort, request
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.webhook import WebhookParser


def create_app(channel_secret: str | None = None) -> Flask:
    """A Flask app whose /callback verifies and parses the body, then answers "OK"."""
    app = Flask(__name__)
    parser = WebhookParser(channel_secret or os.environ.get("LINE_CHANNEL_SECRET", "simulator-channel-secret"))

    @app.post("/callback")
    def callback():
        try:
            parser.parse(request.get_data(as_text=True), request.headers.get("X-Line-Signature", ""))
        except InvalidSignatureError:
            abort(400)
        return "OK"

    return app
