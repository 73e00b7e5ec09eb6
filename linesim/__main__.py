"""`python -m linesim`: run the simulator as a threaded development server."""

from __future__ import annotations

import argparse
import os

from werkzeug.serving import run_simple

from linesim import DEFAULTS, create_app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options, with LINE_CHANNEL_SECRET, LINE_CHANNEL_ACCESS_TOKEN and SIM_WEBHOOK_URL as fallbacks."""
    parser = argparse.ArgumentParser(prog="python -m linesim", description="LINE platform simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--webhook-url", default=os.environ.get("SIM_WEBHOOK_URL"))
    parser.add_argument("--channel-secret", default=os.environ.get("LINE_CHANNEL_SECRET", DEFAULTS["CHANNEL_SECRET"]))
    parser.add_argument(
        "--access-token", default=os.environ.get("LINE_CHANNEL_ACCESS_TOKEN", DEFAULTS["CHANNEL_ACCESS_TOKEN"])
    )
    parser.add_argument(
        "--login-channel-id", default=os.environ.get("LINE_LOGIN_CHANNEL_ID", DEFAULTS["LOGIN_CHANNEL_ID"])
    )
    parser.add_argument(
        "--login-channel-secret",
        default=os.environ.get("LINE_LOGIN_CHANNEL_SECRET", DEFAULTS["LOGIN_CHANNEL_SECRET"]),
    )
    parser.add_argument("--rate-limit", type=int, default=None, help="requests per second per endpoint")
    parser.add_argument(
        "--allow-host", action="append", default=[], help="another host name the simulator answers to (repeatable)"
    )
    parser.add_argument("--webhook-timeout", type=float, default=DEFAULTS["WEBHOOK_TIMEOUT"])
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> dict:
    """The simulator's settings from its command line; it answers to loopback names, its bind address and
    the --allow-host names."""
    return {
        "CHANNEL_SECRET": args.channel_secret,
        "CHANNEL_ACCESS_TOKEN": args.access_token,
        "WEBHOOK_URL": args.webhook_url,
        "LOGIN_CHANNEL_ID": args.login_channel_id,
        "LOGIN_CHANNEL_SECRET": args.login_channel_secret,
        "RATE_LIMIT_PER_SECOND": args.rate_limit,
        "WEBHOOK_TIMEOUT": args.webhook_timeout,
        "ALLOWED_HOSTS": (*DEFAULTS["ALLOWED_HOSTS"], args.host, *args.allow_host),
    }


def main(argv: list[str] | None = None) -> None:
    """Start the simulator."""
    args = parse_args(argv)
    app = create_app(settings_from(args))
    print(
        f"LINE simulator on http://{args.host}:{args.port}/ posting webhooks to {args.webhook_url or '(nowhere)'}",
        flush=True,
    )
    run_simple(args.host, args.port, app, threaded=True)


if __name__ == "__main__":
    main()
