"""The 1:1 chat inbox (チャット): conversations, their talk view of everything a friend saw and did, replies."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the chat page and the talk view's core sources."""
    from crm.inbox import action_views, activity_sources, image_views, views  # noqa: F401  (image_views: its route joins views.bp)

    activity_sources.register()
    app.register_blueprint(views.bp)
    app.register_blueprint(action_views.bp)
