"""Babel extraction methods for texts that are not in the source as literals (see babel.cfg)."""

from __future__ import annotations

from collections.abc import Iterator


def extract_openapi(fileobj, keywords, comment_tags, options) -> Iterator[tuple[int, str, str, list[str]]]:
    """The texts of the API document an app builds (the marker file mapped to this method is not read)."""
    from crm import create_app
    from crm.api.doc_texts import document_texts
    from crm.config import testing_config

    app = create_app(testing_config("sqlite://"))
    document = app.extensions["crm_api"].spec.to_dict()
    for text in document_texts(document):
        yield 1, "gettext", text, ["API document (docstring or field description)"]
