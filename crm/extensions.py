"""The Flask extensions the whole app shares: created here, set up by `create_app` through `init_app`."""

from __future__ import annotations

from flask import Flask
from flask_babel import Babel, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager
from flask_wtf import CSRFProtect

from crm.i18n import DEFAULT_LOCALE, select_locale, tokyo_datetime

csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()


def init_app(app: Flask) -> None:
    """Set up translations (catalogues in crm/translations, times in Asia/Tokyo), sign-in and CSRF protection."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Tokyo")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: "Asia/Tokyo")
    app.jinja_env.filters["tokyo"] = tokyo_datetime
    app.jinja_env.globals["get_locale"] = get_locale
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in.")
    csrf.init_app(app)
