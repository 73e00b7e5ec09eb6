"""The 1:1 chat inbox (チャット): conversations, their talk view of everything a friend saw and did, replies."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the chat page and the talk view's core sources."""
    from crm.inbox import action_views, activity_sources, media_views, message_source, views  # noqa: F401  (media_views: its routes join views.bp)

    activity_sources.register()
    # What a friend sent, shown the same way on the friend page as in the talk view (inbox/_line_media.html).
    app.add_template_filter(message_source.size_words, "file_size")
    app.add_template_filter(message_source.duration_words, "duration")
    app.add_template_global(message_source.kind_word, "media_word")
    app.register_blueprint(views.bp)
    app.register_blueprint(action_views.bp)
