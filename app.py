"""WSGI entry point: `gunicorn app:app`."""

from crm import create_app

app = create_app()
