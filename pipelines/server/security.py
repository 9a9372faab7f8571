"""Who may talk to ``pipelines serve``: loopback by default, a bearer token elsewhere.

* Binding to anything but a loopback address needs a token (``--token`` or
  ``PIPELINES_TOKEN``); without one the server refuses to start.
* With a token, every API read (``/api/...``, ``/metrics``) and every start
  or stop needs ``Authorization: Bearer TOKEN``. The page and its static
  files carry no data and need none; the page asks for the token once.
* Without a token (loopback only), the ``Host`` header must name a loopback
  address, so a web page that rebinds its DNS name to 127.0.0.1 cannot read
  the API; and a POST whose ``Origin`` is another site is refused (no
  cross-site request can start or stop a run).
* Every response says what a browser may do with it (CSP: only this
  server's own scripts and styles, nothing inline; no framing; no sniffing).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

__all__ = [
    "CSP",
    "MIN_TOKEN",
    "TOKEN_ENV",
    "BindError",
    "add_headers",
    "check_binding",
    "is_loopback",
    "security_middleware",
]

TOKEN_ENV = "PIPELINES_TOKEN"
#: Shortest token accepted (characters): a guessable token is no protection.
MIN_TOKEN = 16

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
_LOOPBACK_NAMES = {"localhost", "localhost.", "ip6-localhost"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BindError(ValueError):
    """The server may not listen where it was asked to (the message says what to do)."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    name = host.strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_binding(host: str, token: str | None) -> None:
    """Raise :class:`BindError` unless serving on ``host`` with ``token`` is allowed."""
    if token is not None and len(token) < MIN_TOKEN:
        raise BindError(f"the token must be at least {MIN_TOKEN} characters long")
    if not is_loopback(host) and token is None:
        raise BindError(
            f"refusing to serve on {host} without a token: pass --token TOKEN or set "
            f"{TOKEN_ENV} (or serve on 127.0.0.1)"
        )


def add_headers(response: web.StreamResponse) -> None:
    """The security headers every response carries."""
    for name, value in _HEADERS.items():
        response.headers.setdefault(name, value)


def _json_error(status: int, message: str, **headers: str) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps({"error": message}),
        content_type="application/json",
        headers=headers,
    )


def _guarded(path: str) -> bool:
    return path.startswith("/api/") or path == "/metrics"


def _authorized(request: web.Request, token: str) -> bool:
    given = request.headers.get("Authorization", "")
    scheme, _, value = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode(), token.encode()
    )


def _same_origin(request: web.Request) -> bool:
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser's cross-site request (curl, scripts)
    return urlsplit(origin).netloc.lower() == request.host.lower()


def security_middleware(token: str | None) -> Middleware:
    """The middleware applying this module's rules to every request."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if token is None:
            host = urlsplit(f"//{request.host}").hostname or ""
            if not is_loopback(host):
                return _json_error(403, "this server answers only to a loopback Host")
        if request.method not in ("GET", "HEAD", "OPTIONS") and not _same_origin(request):
            return _json_error(403, "cross-site requests may not start or stop runs")
        if token is not None and _guarded(request.path) and not _authorized(request, token):
            return _json_error(
                401,
                "this server needs 'Authorization: Bearer TOKEN'",
                **{"WWW-Authenticate": "Bearer"},
            )
        response = await handler(request)
        if not response.prepared:  # a stream sets its own before it starts
            add_headers(response)
        return response

    return middleware
