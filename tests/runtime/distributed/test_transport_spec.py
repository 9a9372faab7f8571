"""The ``transport:`` section: validation with key paths, and how a spec is named for workers."""

from __future__ import annotations

import pytest

from pipelines import Plumber, SpecError
from pipelines.spec.transport import DEFAULT_RECLAIM_AFTER, TransportSpec, spec_fingerprint


def _spec(transport=None, **node):
    data = {
        "nodes": {
            "src": {"coro": "dfuncs:numbers"},
            "out": {"coro": "dfuncs:keep", **node},
        },
        "graph": {"src": ["out"], "out": None},
    }
    if transport is not None:
        data["transport"] = transport
    return data


def _problems(data) -> list[str]:
    with pytest.raises(SpecError) as info:
        Plumber(data, base_dir=_SPECS)
    return [str(p) for p in info.value.problems]


from redis_runs import SPECS as _SPECS  # noqa: E402


def test_defaults():
    spec = Plumber(_spec({}), base_dir=_SPECS).plan.spec.transport
    assert spec == TransportSpec(reclaim_after=DEFAULT_RECLAIM_AFTER)
    assert (spec.redis, spec.batch_size, spec.linger, spec.serializer) == (None, 512, 0.002, "json")
    assert (spec.max_deliveries, spec.heartbeat, spec.ttl) == (5, 1.0, 3.0)
    assert Plumber(_spec(), base_dir=_SPECS).plan.spec.transport is None


def test_every_bad_key_is_reported_with_its_path():
    problems = _problems(
        _spec(
            {
                "redis": "http://host",
                "batch_sise": 3,
                "batch_size": 0,
                "linger": -1,
                "serializer": "yaml",
                "max_deliveries": True,
                "heartbeat": 0,
            }
        )
    )
    assert problems == [
        "transport.redis: must be a Redis URL (redis://HOST:PORT/DB, rediss:// for TLS, unix:///path), got 'http://host'",
        "transport.batch_sise: unknown transport key (did you mean 'batch_size'?)",
        "transport.batch_size: must be an integer from 1 to 100,000, got 0",
        "transport.linger: must be a number of seconds >= 0 and at most 60, got -1",
        "transport.serializer: must be one of json, pickle, got 'yaml'",
        "transport.max_deliveries: must be an integer from 1 to 1,000, got True",
        "transport.heartbeat: must be a number of seconds > 0 and at most 3,600, got 0",
    ]
    assert _problems(_spec([1])) == [
        "transport: must be a mapping, e.g. {redis: redis://host:6379/0}"
    ]


def test_reclaim_after_must_be_longer_than_every_timeout():
    assert _problems(_spec({"reclaim_after": 5}, timeout=5)) == [
        "transport.reclaim_after: must be longer than every node's timeout, or a slow call's "
        "entry would be taken over while it runs: nodes.out.timeout is 5 s"
    ]
    derived = Plumber(_spec({}, timeout=40), base_dir=_SPECS).plan.spec.transport
    assert derived is not None and derived.reclaim_after == 80.0


def test_a_redis_url_needs_import_strings_and_plain_args():
    data = _spec({"redis": "redis://localhost:6379/0"})
    data["nodes"]["src"] = {"coro": range(3)}
    data["nodes"]["out"] = {"coro": "dfuncs:slow_sink", "args": {"pause": object()}}
    problems = sorted(_problems(data))
    assert problems[0].startswith(
        "nodes.out.args.pause: a distributed run sends args to its workers as JSON data; "
        "object is not plain data"
    )
    assert problems[1].startswith(
        "nodes.src.coro: a distributed run (transport.redis) needs an import string "
        "'module:function'"
    )


def test_the_fingerprint_ignores_the_url_args_and_env_only():
    base = _spec()
    same = _spec({"redis": "redis://elsewhere:6379/1"})
    same["nodes"]["src"]["args"] = {"n": 5}
    same["env"] = {"key": "value"}
    assert spec_fingerprint(base) == spec_fingerprint(same)
    assert spec_fingerprint(base) != spec_fingerprint(_spec({"batch_size": 10}))
    assert spec_fingerprint(base) != spec_fingerprint(_spec(concurrency=2))
    assert len(spec_fingerprint(base)) == 16
    with pytest.raises(TypeError):
        spec_fingerprint({"nodes": {"a": {"coro": print}}})


def test_what_a_distributed_run_would_not_honour_is_refused_with_key_paths():
    import contextlib

    from pipelines import Plumber, SpecError

    async def keep(x, context):
        return x

    spec = {
        "transport": {"redis": "redis://127.0.0.1:6399/0"},
        "hooks": {"before_run": lambda: None},
        "resources": {"db": contextlib.nullcontext},
        "context": {"a": 1},
        "nodes": {
            "src": {"coro": [1, 2]},
            "w": {"coro": keep, "batch": {"size": 2}, "hooks": {"before": print}},
        },
        "graph": {"src": ["w"], "w": None},
    }
    with pytest.raises(SpecError) as caught:
        Plumber(spec)
    refused = [
        p.path for p in caught.value.problems if "not supported with transport.redis" in p.message
    ]
    assert refused == [
        "hooks",
        "resources",
        "context",
        "nodes.w.hooks",
        "nodes.w.batch",
        "nodes.w.coro",
    ]
