"""The API's documentation page in the console, rendered on the server from the OpenAPI document (no CDN)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_babel import gettext

from crm.console.guard import requires

bp = Blueprint("api_docs", __name__)
METHODS = ("get", "post", "put", "patch", "delete")


def _ref_name(schema: dict | None) -> str | None:
    ref = (schema or {}).get("$ref", "")
    return ref.rsplit("/", 1)[-1] or None


def _type_of(schema: dict) -> str:
    """A short human form of a JSON schema: a type, an array of a type, or a schema name."""
    if "$ref" in schema:
        return _ref_name(schema)
    if schema.get("type") == "array":
        return f"[{_type_of(schema.get('items', {}))}]"
    kind = schema.get("type", "object")
    if "enum" in schema:
        return f"{kind}: " + " | ".join(map(str, schema["enum"]))
    return f"{kind} ({schema['format']})" if "format" in schema else kind


def _translated(text: str | None) -> str:
    """A text of the API document in the console's language (crm/api/doc_texts.py puts them in the catalog)."""
    return gettext(text) if text else ""


def operations(document: dict) -> list[dict]:
    """Every operation of the document: method, path, summary, permission, parameters, body and responses."""
    found = []
    for path, item in document.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            found.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": _translated(op.get("summary")),
                    "description": _translated(op.get("description")),
                    "permission": op.get("x-permission"),
                    "tag": (op.get("tags") or [""])[0],
                    "parameters": [
                        {**p, "type": _type_of(p.get("schema", {})), "description": _translated(p.get("description"))}
                        for p in shared + op.get("parameters", [])
                    ],
                    "body": _ref_name(body) if body else None,
                    "responses": sorted(code for code in op.get("responses", {}) if code != "default"),
                }
            )
    return found


def schemas(document: dict) -> list[tuple[str, list[dict]]]:
    """Each named schema with its properties (name, type, required, description)."""
    found = []
    for name, schema in sorted(document.get("components", {}).get("schemas", {}).items()):
        required = set(schema.get("required", []))
        found.append(
            (
                name,
                [
                    {
                        "name": key,
                        "type": _type_of(value),
                        "required": key in required,
                        "nullable": value.get("nullable", False),
                        "description": _translated(value.get("description")),
                    }
                    for key, value in schema.get("properties", {}).items()
                ],
            )
        )
    return found


@bp.get("/api-docs")
@requires("home.view")
def index():
    """Every API operation and schema, from the same document as /api/v1/openapi.json."""
    document = current_app.extensions["crm_api"].spec.to_dict()
    return render_template(
        "api_docs/index.html", info=document.get("info", {}), operations=operations(document), schemas=schemas(document)
    )
