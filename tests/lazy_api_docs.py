"""Document the API only when a test reads the OpenAPI document.

flask-smorest documents every view of a blueprint as the blueprint is registered: it resolves each marshmallow
schema and deep-copies the document's parts, about half of the 0.06 s it took to build a CRM app. As the app is
built it also registers a default response per HTTP status (each resolving the error schema again, about a sixth
of what was left), then the ETag and pagination headers. The tests build some 4,000 apps and read the document
in a few dozen of them, so here all of it is recorded and done, in the same order and by the same code, the
first time the document is read.
Production builds its app once and is left alone.
"""

from __future__ import annotations

from apispec import APISpec
from flask_smorest import Api

_original_to_dict = APISpec.to_dict
# The spec's parts flask-smorest registers as the app is built, in this order.
_COMPONENT_STEPS = ("_register_responses", "_register_etag_headers", "_register_pagination_header")


def _postponed(original):
    def register_later(self: Api) -> None:
        self.spec.__dict__.setdefault("_pending_steps", []).append(lambda: original(self))

    return register_later


def _register_blueprint(self: Api, blp, *, parameters=None, **options) -> None:
    """flask-smorest's `Api.register_blueprint`, with the documentation step postponed."""
    blp_name = options.get("name", blp.name)
    self._app.extensions["flask-smorest"]["blp_name_to_api"][blp_name] = self
    self._app.register_blueprint(blp, **options)

    def document(spec: APISpec = self.spec) -> None:
        blp.register_views_in_doc(self, self._app, spec, name=blp_name, parameters=parameters)
        spec.tag({"name": blp_name, "description": blp.description})

    self.spec.__dict__.setdefault("_pending_steps", []).append(document)


def _to_dict(self: APISpec) -> dict:
    for step in self.__dict__.pop("_pending_steps", []):
        step()
    return _original_to_dict(self)


def install() -> None:
    for name in _COMPONENT_STEPS:
        setattr(Api, name, _postponed(getattr(Api, name)))
    Api.register_blueprint = _register_blueprint
    APISpec.to_dict = _to_dict
