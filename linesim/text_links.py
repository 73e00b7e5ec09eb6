"""Links in message text, tappable as LINE makes them: every http(s) URL becomes a link that opens in a new
tab (through the CRM's tracked redirect when the CRM rewrote it), the rest of the text stays escaped."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

# LINE links a URL up to the first whitespace; trailing closing punctuation is left out of the link.
URL = re.compile(r"https?://[^\s<>\"'「」、。（）]+")
TRAILING = ".,!?:;)]}"


def linkify(text: str | None) -> Markup:
    """The text escaped for HTML with its URLs as links."""
    text = text or ""
    pieces: list[str] = []
    position = 0
    for match in URL.finditer(text):
        url = match.group(0).rstrip(TRAILING)
        end = match.start() + len(url)
        pieces.append(escape(text[position : match.start()]))
        pieces.append(Markup('<a href="{0}" target="_blank" rel="noopener noreferrer">{0}</a>').format(url))
        position = end
    pieces.append(escape(text[position:]))
    return Markup("").join(pieces)


def init_app(app) -> None:
    app.add_template_filter(linkify)
