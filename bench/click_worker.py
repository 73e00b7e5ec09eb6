"""The worker's click actions job alone (the same tick, every 2 seconds as scheduled), for bench.redirect's
tag-on-click run: the full worker's other jobs would also work on the freshly generated friends.

    DATABASE_URL=... python -m bench.click_worker
"""

from __future__ import annotations

import signal
import threading

from crm import create_app
from crm.db import get_engine
from crm.tracking.jobs import JOBS, click_actions


def main() -> int:
    """Run the click actions tick on its schedule until SIGTERM or SIGINT."""
    app, stop = create_app(), threading.Event()
    (job,) = JOBS
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_args: stop.set())
    while not stop.is_set():
        click_actions(app, get_engine(app), None)
        stop.wait(job.seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
