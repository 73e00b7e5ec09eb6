"""The API document's texts in the translation catalog, so the console's API page reads in Japanese.

The OpenAPI document (`/api/v1/openapi.json`) stays in English, as API clients expect; its summaries and
descriptions come from the views' docstrings and the schemas' field descriptions. `document_texts` lists
them; pybabel collects them through crm.babel_extract (babel.cfg maps its `openapi` extraction method to
crm/api/openapi.texts, a marker file) and the console page shows each through gettext.
"""

from __future__ import annotations

OPERATION_METHODS = ("get", "post", "put", "patch", "delete")


def document_texts(document: dict) -> list[str]:
    """Every human text of an OpenAPI document, once each, in document order."""
    found: dict[str, None] = {}

    def add(text) -> None:
        if isinstance(text, str) and text:
            found.setdefault(text, None)

    for tag in document.get("tags", []):
        add(tag.get("description"))
    for item in document.get("paths", {}).values():
        for parameter in item.get("parameters", []):
            add(parameter.get("description"))
        for method in OPERATION_METHODS:
            operation = item.get(method) or {}
            add(operation.get("summary"))
            add(operation.get("description"))
            for parameter in operation.get("parameters", []):
                add(parameter.get("description"))
            for response in operation.get("responses", {}).values():
                add(response.get("description"))
    for schema in document.get("components", {}).get("schemas", {}).values():
        add(schema.get("description"))
        for field in schema.get("properties", {}).values():
            add(field.get("description"))
    return list(found)
