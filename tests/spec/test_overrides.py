"""``--set`` overrides: node args and run resources' factory args."""

from __future__ import annotations

import pytest

from pipelines.spec.overrides import OverrideError, apply_overrides

SPEC = {
    "resources": {"api": {"factory": "m:f", "args": {"rate": 0.3}}, "db": "m:open"},
    "nodes": {"a": {"coro": "m:a", "args": {"n": 1}}, "b": {"coro": "m:b"}},
    "graph": {"a": ["b"], "b": None},
}


def test_node_args_are_set_and_the_spec_is_not_changed():
    out = apply_overrides(SPEC, ["a.n=5", "b.factor=2.5", "a.name=text"])
    assert out["nodes"]["a"]["args"] == {"n": 5, "name": "text"}
    assert out["nodes"]["b"]["args"] == {"factor": 2.5}
    assert SPEC["nodes"]["a"]["args"] == {"n": 1}


def test_resource_factory_args_are_set():
    out = apply_overrides(SPEC, ["resources.api.rate=0.5", "resources.db.path=/tmp/x.db"])
    assert out["resources"]["api"] == {"factory": "m:f", "args": {"rate": 0.5}}
    assert out["resources"]["db"] == {"factory": "m:open", "args": {"path": "/tmp/x.db"}}
    assert SPEC["resources"]["api"]["args"] == {"rate": 0.3}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a.n", "'a.n': expected NODE.ARG=VALUE"),
        ("zz.n=1", "'zz.n=1': no node named 'zz' (nodes: a, b)"),
        (
            "resources.nope.x=1",
            "'resources.nope.x=1': no resource named 'nope' (resources: api, db)",
        ),
        ("a.n=[1", "'a.n=[1': the value is not valid YAML"),
    ],
)
def test_bad_overrides_say_what_is_wrong(text, message):
    with pytest.raises(OverrideError) as caught:
        apply_overrides(SPEC, [text])
    assert str(caught.value).startswith(message)
