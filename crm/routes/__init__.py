"""Inflow routes (流入経路): a URL and QR code per place, attributed through LINE Login, actions on arrival,
per-route statistics, the friend page's routes and segment conditions on them."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the public /i/ pages (no form, so no CSRF token), the console, the follow subscriber that
    settles waiting logins, the check that keeps friend-added scenarios off for routes that say so, the friend
    page's section, the words of the action history and the audit log, and the friend's export and erasure."""
    from crm import triggers
    from crm.actions.history import register_source
    from crm.extensions import csrf
    from crm.friends.extras import register_page_section
    from crm.privacy import service as privacy_service
    from crm.routes import attribution, conversion_figures, friend_section, public, views
    from crm.routes.models import InflowRoute
    from crm.scenarios.triggers import skip_welcome_when
    from crm.staff.audit_words import named_rows, register_target

    app.register_blueprint(public.bp)
    csrf.exempt(public.bp)
    app.register_blueprint(views.bp)
    app.context_processor(views.template_helpers)
    triggers.subscribe(attribution.on_trigger)
    conversion_figures.register()
    skip_welcome_when(attribution.skips_welcome_scenarios)
    register_page_section(app, "routes/_friend_routes.html", friend_section.page_helpers)
    register_source(attribution.SOURCE, friend_section.describe_source)
    register_target(
        app, "inflow_route", named_rows(InflowRoute, InflowRoute.name, endpoint="routes.show", id_arg="route_id")
    )
    privacy_service.on_erase(friend_section.erase_routes)
    privacy_service.on_export("routes", friend_section.export_routes)
