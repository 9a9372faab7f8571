"""Who may talk to the server: loopback by default, a bearer token elsewhere, no cross-site writes."""

from __future__ import annotations

import pytest

from pipelines.server import BindError, check_binding
from pipelines.server.security import CSP, is_loopback

TOKEN = "s3cret-token-0123456789"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("example.com", False),
        ("localhost.example.com", False),
    ],
)
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback


def test_binding_rules():
    check_binding("127.0.0.1", None)
    check_binding("0.0.0.0", TOKEN)
    with pytest.raises(BindError, match=r"refusing to serve on 0\.0\.0\.0 without a token"):
        check_binding("0.0.0.0", None)
    with pytest.raises(BindError, match="at least 16 characters"):
        check_binding("127.0.0.1", "short")


async def test_with_a_token_every_api_read_and_write_needs_it(serve):
    _server, session = await serve("numbers.yaml", token=TOKEN)
    for method, path in (
        ("GET", "/api/runs"),
        ("GET", "/api/runs/abc"),
        ("GET", "/api/runs/abc/events"),
        ("GET", "/api/workers"),
        ("GET", "/api/pipelines"),
        ("POST", "/api/pipelines/numbers/runs"),
        ("POST", "/api/runs/abc/stop"),
        ("GET", "/metrics"),
    ):
        for headers in (
            {},
            {"Authorization": "Bearer wrong-token-0123456789"},
            {"Authorization": TOKEN},
        ):
            async with session.request(method, path, headers=headers) as response:
                assert response.status == 401, (method, path, headers)
                assert response.headers["WWW-Authenticate"] == "Bearer"
                assert await response.json() == {
                    "error": "this server needs 'Authorization: Bearer TOKEN'"
                }
    good = {"Authorization": f"Bearer {TOKEN}"}
    async with session.get("/api/runs", headers=good) as response:
        assert response.status == 200
    async with session.post("/api/pipelines/numbers/runs", headers=good) as response:
        assert response.status == 201
    async with session.get("/metrics", headers=good) as response:
        assert response.status == 200


async def test_with_a_token_the_page_health_and_files_need_none(serve):
    _, session = await serve(token=TOKEN)
    for path in ("/", "/runs/abc", "/static/common.js", "/healthz"):
        async with session.get(path) as response:
            assert response.status == 200, path


async def test_without_a_token_only_a_loopback_host_header_is_answered(serve):
    server, session = await serve()
    for host in ("evil.example", "evil.example:80", "10.0.0.1"):
        async with session.get("/api/runs", headers={"Host": host}) as response:
            assert (response.status, await response.json()) == (
                403,
                {"error": "this server answers only to a loopback Host"},
            )
    for host in (f"localhost:{server.port}", f"127.0.0.1:{server.port}", "[::1]"):
        async with session.get("/api/runs", headers={"Host": host}) as response:
            assert response.status == 200, host


async def test_cross_site_posts_are_refused(serve):
    server, session = await serve("numbers.yaml")
    refused = {"error": "cross-site requests may not start or stop runs"}
    for headers in (
        {"Origin": "http://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ):
        async with session.post("/api/pipelines/numbers/runs", headers=headers) as response:
            assert (response.status, await response.json()) == (403, refused)
    same = {"Origin": server.url, "Sec-Fetch-Site": "same-origin"}
    async with session.post("/api/pipelines/numbers/runs", headers=same) as response:
        assert response.status == 201


async def test_every_response_carries_the_security_headers(serve):
    _, session = await serve()
    for path in ("/", "/api/runs", "/static/app.css", "/healthz", "/api/runs/x"):
        async with session.get(path) as response:
            assert response.headers["Content-Security-Policy"] == CSP, path
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["X-Frame-Options"] == "DENY"


async def test_a_public_bind_without_a_token_does_not_start(store):
    from pipelines.server import Server

    server = Server(store, host="0.0.0.0", port=0)
    with pytest.raises(BindError):
        await server.start()
    assert store.workers() == []  # refused before registering anything
