"""Document the API's views only when a test reads the OpenAPI document.

flask-smorest documents every view of a blueprint as the blueprint is registered: it resolves each marshmallow
schema and deep-copies the document's parts, about half of the 0.06 s it takes to build a CRM app. The tests
build some 4,000 apps and read the document in a few dozen of them, so here registration records what to
document and the document is built, in the same order and by the same code, the first time it is read.
Production builds its app once and is left alone.
"""

from __future__ import annotations

from apispec import APISpec
from flask_smorest import Api

_original_to_dict = APISpec.to_dict


def _register_blueprint(self: Api, blp, *, parameters=None, **options) -> None:
    """flask-smorest's `Api.register_blueprint`, with the documentation step postponed."""
    blp_name = options.get("name", blp.name)
    self._app.extensions["flask-smorest"]["blp_name_to_api"][blp_name] = self
    self._app.register_blueprint(blp, **options)
    self.spec.__dict__.setdefault("_pending_views", []).append((self, blp, blp_name, parameters))


def _to_dict(self: APISpec) -> dict:
    pending = self.__dict__.pop("_pending_views", [])
    for api, blp, blp_name, parameters in pending:
        blp.register_views_in_doc(api, api._app, self, name=blp_name, parameters=parameters)
        self.tag({"name": blp_name, "description": blp.description})
    return _original_to_dict(self)


def install() -> None:
    Api.register_blueprint = _register_blueprint
    APISpec.to_dict = _to_dict
