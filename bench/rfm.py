"""RFM recomputation at scale (SQLite or PostgreSQL), and conversion API requests per second.

Generates friends and purchases with bench.generate (reused when the database already has them), then
recomputes the RFM scores in a fresh child process (so its peak memory is the recomputation's own: for
SQLite that includes the database engine's sorting; for PostgreSQL the server backend's peak is read from
/proc when the server runs on this machine), and times POST /api/v1/conversions through the real app (Flask
test client, bearer token, one thread): new orders, then the same orders again (duplicates).

    python -m bench.rfm --database-url sqlite:////tmp/rfm.sqlite3 --friends 1000000 --purchases 10000000
    python -m bench.rfm --postgresql --friends 1000000 --purchases 10000000
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import time
from collections.abc import Sequence

from sqlalchemy import func, select, text

from bench.export import peak_rss_mb
from bench.generate import generate_friends
from bench.generate_extras import generate_purchases
from crm import migrate
from crm.conversions import rfm
from crm.conversions.models import Conversion, ConversionPoint
from crm.db import make_engine, session_scope
from crm.friends.models import Friend
from crm.timeutil import utcnow


def _backend_peak_mb(session) -> float | None:
    """The PostgreSQL backend's peak RSS (VmHWM) when it runs on this machine and is readable, else None."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return None


def _recompute(database_url: str, answer) -> None:
    """In a child process: one recomputation; put (seconds, buyers, own peak MB, backend peak MB)."""
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            started = time.perf_counter()
            buyers = rfm.recompute(session, now=utcnow())
            session.flush()
            backend = _backend_peak_mb(session)
        answer.put((time.perf_counter() - started, buyers, peak_rss_mb(), backend))
    finally:
        engine.dispose()


def recompute_in_child(database_url: str) -> tuple[float, int, float, float | None]:
    context = multiprocessing.get_context("spawn")
    answer = context.Queue()
    child = context.Process(target=_recompute, args=(database_url, answer))
    child.start()
    found = answer.get()
    child.join()
    return found


def api_rate(database_url: str, requests: int) -> tuple[float, float]:
    """Requests per second of POST /api/v1/conversions: new orders, then the same orders again."""
    from crm import create_app
    from crm.config import testing_config
    from crm.db import get_engine
    from crm.staff import api_tokens
    from crm.staff.audit import Actor

    logging.disable(logging.INFO)
    app = create_app(testing_config(database_url))
    engine = get_engine(app)
    with session_scope(engine) as session:
        _token, secret = api_tokens.create_token(session, name="bench", role="marketer", actor=Actor.system("bench"))
        point_id = session.scalar(select(ConversionPoint.id).where(ConversionPoint.name == "ベンチ購入"))
        low = session.scalar(select(func.min(Friend.id)))
    client, headers = app.test_client(), {"Authorization": f"Bearer {secret}"}
    rates = []
    for _round in range(2):
        started = time.perf_counter()
        for number in range(requests):
            body = {"point_id": point_id, "friend_id": low + number % 1000, "value": 1980, "order_id": f"api-{number}"}
            answer = client.post("/api/v1/conversions", json=body, headers=headers)
            assert answer.status_code in (200, 201), answer.get_data(as_text=True)
        rates.append(requests / (time.perf_counter() - started))
    engine.dispose()
    return rates[0], rates[1]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rfm", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="SQLAlchemy URL; or --postgresql")
    parser.add_argument("--postgresql", action="store_true", help="on a throwaway PostgreSQL cluster instead")
    parser.add_argument("--friends", type=int, default=100_000)
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--api-requests", type=int, default=2000)
    args = parser.parse_args(argv)
    if not args.postgresql:
        return run(args)
    from tests.pg_cluster import start_cluster

    cluster = start_cluster()
    try:
        args.database_url = cluster.create_database("rfm_bench")
        return run(args)
    finally:
        cluster.stop()


def run(args: argparse.Namespace) -> int:
    """Generate what is missing, recompute `runs` times, then time the API."""
    migrate.upgrade(args.database_url)
    engine = make_engine(args.database_url)
    try:
        with engine.connect() as connection:
            friends = connection.execute(select(func.count()).select_from(Friend)).scalar()
            purchases = connection.execute(select(func.count()).select_from(Conversion)).scalar()
        if friends < args.friends:
            print(generate_friends(engine, args.friends - friends), flush=True)
        if purchases < args.purchases:
            print(generate_purchases(engine, args.purchases - purchases), flush=True)
    finally:
        engine.dispose()
    for run in range(args.runs):
        seconds, buyers, own_mb, backend_mb = recompute_in_child(args.database_url)
        backend = f", server backend peak {backend_mb:.0f} MB" if backend_mb is not None else ""
        print(
            f"RFM recompute run {run + 1}: {seconds:.1f} s for {buyers:,} buyers of {args.purchases:,} purchases, "
            f"process peak {own_mb:.0f} MB{backend} ({args.database_url.split(':')[0]})",
            flush=True,
        )
    if args.api_requests:
        new, duplicate = api_rate(args.database_url, args.api_requests)
        print(f"POST /api/v1/conversions: {new:.0f} requests/s new orders, {duplicate:.0f} requests/s duplicates")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
