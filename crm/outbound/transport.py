"""HTTP POSTs to URLs staff or operators typed (webhook endpoints, the LINE webhook relay).

Only public addresses are reached: the host is resolved once, the address checked (requests-hardened's SSRF
filter: loopback, private, link-local, multicast, reserved, unspecified and IPv4-mapped forms of those are
refused) and the connection made to that checked address, with the certificate and SNI still checked against the
name. `allow_private` lifts the check for development and tests. Redirects are never followed.

Every request has a wall-clock deadline: a watchdog shuts the socket down when it passes, so a receiver that
dribbles its answer a byte at a time cannot hold a delivery longer than the deadline.

Failures come back as a category (`FAILURES`), never as exception text, so the console cannot serve as a port
scanner.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import NamedTuple
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests_hardened.ip_filter import InvalidIPAddress, get_ip_address
from requests_hardened.ip_filter_adapter import IPFilterAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError

from crm.errors import N_

USER_AGENT = "LINE-CRM-Webhooks/1"
CONNECT_TIMEOUT_MAX = 3.0

# Stored as WebhookAttempt.error / RelayItem.last_error; an answered request stores HTTP with its status code.
FORBIDDEN = "forbidden"
UNRESOLVED = "unresolved"
TIMEOUT = "timeout"
UNREACHABLE = "unreachable"
TLS = "tls"
HTTP = "http"
FAILURES = {
    FORBIDDEN: N_("Address not allowed (private or local network)"),
    UNRESOLVED: N_("The host name cannot be resolved"),
    TIMEOUT: N_("Timed out"),
    UNREACHABLE: N_("Cannot connect"),
    TLS: N_("Certificate or TLS error"),
}


class Outcome(NamedTuple):
    """What a POST came to: the status code when answered, and a failure category unless it was 2xx."""

    status_code: int | None
    failure: str | None


def failure_label(failure: str | None) -> str | None:
    """The untranslated label of a stored failure with no answer (unknown legacy text counts as unreachable, so
    old exception text is never shown)."""
    if not failure:
        return None
    return FAILURES.get(failure, FAILURES[UNREACHABLE])


def public_address_problem(url: str) -> str | None:
    """At save time: FORBIDDEN when the URL's host is or resolves to a non-public address, UNRESOLVED when it
    does not resolve, else None."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        get_ip_address(host, parts.port or (443 if parts.scheme == "https" else 80), allow_loopback=False)
    except InvalidIPAddress:
        return FORBIDDEN
    except (OSError, UnicodeError, ValueError):
        return UNRESOLVED
    return None


def post(url: str, body: bytes, headers: dict, *, deadline: float, allow_private: bool = False) -> Outcome:
    """POST once within `deadline` seconds in all (connect, send, headers); redirects are not followed."""
    watchdog = _Watchdog(deadline)
    try:
        with watchdog, _session(allow_private) as session:
            response = session.post(
                url,
                data=body,
                headers={"User-Agent": USER_AGENT, **headers},
                stream=True,
                timeout=(min(deadline, CONNECT_TIMEOUT_MAX), deadline),
                allow_redirects=False,
            )
            response.close()  # the body is not needed: never read what the receiver sends back
    except (requests.RequestException, OSError, ValueError) as error:  # ValueError: a URL urllib3 cannot parse
        return Outcome(None, TIMEOUT if watchdog.fired else _category(error))
    if watchdog.fired:  # a socket shut mid-headers can parse as a short, complete answer
        return Outcome(None, TIMEOUT)
    return Outcome(response.status_code, None if 200 <= response.status_code < 300 else HTTP)


def _category(error: BaseException) -> str:
    causes = list(_causes(error))
    if any(isinstance(cause, InvalidIPAddress) for cause in causes):
        return FORBIDDEN
    if any(isinstance(cause, NameResolutionError | socket.gaierror) for cause in causes):
        return UNRESOLVED
    if any(isinstance(cause, requests.Timeout | TimeoutError) for cause in causes):
        return TIMEOUT
    if any(isinstance(cause, requests.exceptions.SSLError) for cause in causes):
        return TLS
    return UNREACHABLE


def _causes(error: BaseException | None, depth: int = 0) -> Iterator[BaseException]:
    """The error, what it wraps (requests and urllib3 nest their causes in args and `reason`) and its chain."""
    if error is None or depth > 8:
        return
    yield error
    nested = [error.__cause__, error.__context__, getattr(error, "reason", None)]
    nested += [arg for arg in error.args if isinstance(arg, BaseException)]
    for inner in nested:
        if isinstance(inner, BaseException):
            yield from _causes(inner, depth + 1)


def _session(allow_private: bool) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy or .netrc from the environment: the checked address is the one reached
    if allow_private:
        session.mount("http://", _DeadlineAdapter())
        session.mount("https://", _DeadlineAdapter())
    else:
        session.mount("http://", _PublicDeadlineAdapter(is_https_proto=False))
        session.mount("https://", _PublicDeadlineAdapter(is_https_proto=True))
    return session


# ---- the deadline ----
_current = threading.local()


class _Watchdog:
    """Shuts down every socket opened by this thread's request when the deadline passes."""

    def __init__(self, seconds: float):
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        _current.watchdog = self
        self._timer.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._timer.cancel()
        _current.watchdog = None

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.fired:
                _shut(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked recv in the request's thread
    except OSError:
        pass


def _watched(sock: socket.socket) -> socket.socket:
    watchdog = getattr(_current, "watchdog", None)
    if watchdog is not None:
        watchdog.watch(sock)
    return sock


class _WatchedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _watched(super()._new_conn())


class _WatchedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _watched(super()._new_conn())


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedPools:
    """An adapter mixin whose connections report their sockets to the request's watchdog."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)  # type: ignore[misc]
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _DeadlineAdapter(_WatchedPools, HTTPAdapter):
    """Any address (development and tests)."""


class _PublicDeadlineAdapter(_WatchedPools, IPFilterAdapter):
    """Public addresses only: resolve once, check, connect to the checked address."""
