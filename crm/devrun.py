"""`make run`: migrate an SQLite database, then run the CRM, the worker and the LINE simulator together."""

from __future__ import annotations

import os
import secrets
import signal
import sys
from pathlib import Path

from honcho.manager import Manager
from sqlmodel import select

from crm import migrate
from crm.db import make_engine, session_scope
from crm.staff.models import Staff
from crm.staff.service import create_staff, set_password

ROOT = Path(__file__).resolve().parent.parent


def dev_environment() -> dict:
    """Environment shared by the three processes: development mode wired to the simulator."""
    crm_port = os.environ.get("CRM_PORT", "5000")
    sim_port = os.environ.get("SIM_PORT", "5001")
    env = dict(os.environ)
    env.setdefault("CRM_ENV", "development")
    env.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'instance' / 'crm.sqlite3'}")
    env.setdefault("LINE_API_BASE", f"http://127.0.0.1:{sim_port}")
    env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{crm_port}")
    env.setdefault("SECRET_KEY", "development-only-secret-key")
    env.setdefault("LINE_CHANNEL_SECRET", "simulator-channel-secret")
    env.setdefault("LINE_CHANNEL_ACCESS_TOKEN", "simulator-access-token")
    env.setdefault("LINE_LOGIN_CHANNEL_ID", "1660000001")
    env.setdefault("LINE_LOGIN_CHANNEL_SECRET", "simulator-login-channel-secret-32")
    env.setdefault("LINE_LOGIN_AUTHORIZE_URL", f"http://127.0.0.1:{sim_port}/oauth2/v2.1/authorize")
    env.setdefault("LINE_LOGIN_API_BASE", f"http://127.0.0.1:{sim_port}")
    env.setdefault("LINE_ADD_FRIEND_URL", f"http://127.0.0.1:{sim_port}/")
    env["SIM_WEBHOOK_URL"] = f"http://127.0.0.1:{crm_port}/callback"
    env["CRM_PORT"], env["SIM_PORT"] = crm_port, sim_port
    return env


DEMO_ADMIN_EMAIL = "admin@example.com"


def ensure_demo_admin(database_url: str) -> str:
    """Create the demo admin, or give it a fresh password; return the password to print."""
    password = secrets.token_urlsafe(12)
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        staff = session.exec(select(Staff).where(Staff.email == DEMO_ADMIN_EMAIL)).first()
        if staff is None:
            create_staff(session, email=DEMO_ADMIN_EMAIL, password=password, display_name="Demo admin", role="admin")
        else:
            set_password(staff, password)
            staff.active = True
    engine.dispose()
    return password


def main() -> int:
    """Prepare and start everything; Ctrl-C stops all three processes."""
    env = dev_environment()
    (ROOT / "instance").mkdir(exist_ok=True)
    migrate.upgrade(env["DATABASE_URL"])
    password = ensure_demo_admin(env["DATABASE_URL"])
    bin_dir = Path(sys.executable).parent
    manager = Manager()
    manager.add_process(
        "web",
        f"{bin_dir}/gunicorn --bind 127.0.0.1:{env['CRM_PORT']} --workers 2 --threads 4 --no-control-socket app:app",
        env=env,
        cwd=str(ROOT),
    )
    manager.add_process("worker", f"{sys.executable} -m crm.worker", env=env, cwd=str(ROOT))
    manager.add_process(
        "simulator",
        f"{sys.executable} -m linesim --host 127.0.0.1 --port {env['SIM_PORT']} --webhook-url {env['SIM_WEBHOOK_URL']}",
        env=env,
        cwd=str(ROOT),
    )
    print(
        f"\n  CRM console:     http://127.0.0.1:{env['CRM_PORT']}/"
        f"\n  LINE simulator:  http://127.0.0.1:{env['SIM_PORT']}/  (open it to chat as a friend)"
        f"\n  Demo admin:      {DEMO_ADMIN_EMAIL} / {password}  (a new password at every start)"
        f"\n  Health:          http://127.0.0.1:{env['CRM_PORT']}/healthz"
        f"\n  Database:        {env['DATABASE_URL']}"
        "\n  Press Ctrl-C to stop everything.\n",
        flush=True,
    )
    manager.loop()
    stopped_by_us = (None, 0, 128 + signal.SIGINT, 128 + signal.SIGTERM, -signal.SIGTERM, -signal.SIGINT)
    return 0 if manager.returncode in stopped_by_us else manager.returncode


if __name__ == "__main__":
    sys.exit(main())
