"""Spec files: YAML, JSON and TOML, validated like dicts.

Import strings in a file resolve next to that file.
"""

from __future__ import annotations

import json
import sys
import textwrap
import uuid

import pytest

from pipelines import Plumber, SpecError

FUNCS = textwrap.dedent(
    """
    async def numbers(n):
        for i in range(n):
            yield i

    async def scale(item, factor):
        return item * factor

    async def keep(item, processor):
        return (processor.env_vars.get("tag"), item)

    class Ops:
        @staticmethod
        async def negate(item):
            return -item
    """
)


@pytest.fixture
def funcs_module(tmp_path, monkeypatch):
    """A functions module next to the spec files, under a unique name; the cwd is elsewhere."""
    name = f"specfuncs_{uuid.uuid4().hex[:10]}"
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / f"{name}.py").write_text(FUNCS)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    yield specs, name
    sys.modules.pop(name, None)


def _yaml(mod: str) -> str:
    return textwrap.dedent(
        f"""
        name: demo
        env:
          tag: from-file
        nodes:
          src:
            coro: "{mod}:numbers"
            args: {{n: 4}}
          scale:
            coro: "{mod}:scale"
            args: {{factor: 3}}
            queue_size: 2
          neg:
            coro: "{mod}:Ops.negate"
          out:
            coro: "{mod}:keep"
            collect: true
        graph:
          src: [scale]
          scale: [neg]
          neg: [out]
          out: null
        """
    )


def _as_dict(mod: str) -> dict:
    return {
        "name": "demo",
        "env": {"tag": "from-file"},
        "nodes": {
            "src": {"coro": f"{mod}:numbers", "args": {"n": 4}},
            "scale": {"coro": f"{mod}:scale", "args": {"factor": 3}, "queue_size": 2},
            "neg": {"coro": f"{mod}:Ops.negate"},
            "out": {"coro": f"{mod}:keep", "collect": True},
        },
        "graph": {"src": ["scale"], "scale": ["neg"], "neg": ["out"], "out": []},
    }


def _toml(mod: str) -> str:
    return textwrap.dedent(
        f"""
        name = "demo"

        [env]
        tag = "from-file"

        [nodes.src]
        coro = "{mod}:numbers"
        args = {{ n = 4 }}

        [nodes.scale]
        coro = "{mod}:scale"
        args = {{ factor = 3 }}
        queue_size = 2

        [nodes.neg]
        coro = "{mod}:Ops.negate"

        [nodes.out]
        coro = "{mod}:keep"
        collect = true

        [graph]
        src = ["scale"]
        scale = ["neg"]
        neg = ["out"]
        out = []
        """
    )


WRITERS = {
    "yaml": ("pipeline.yaml", _yaml),
    "yml": ("pipeline.yml", _yaml),
    "json": ("pipeline.json", lambda mod: json.dumps(_as_dict(mod), indent=2)),
    "toml": ("pipeline.toml", _toml),
}


@pytest.mark.parametrize("fmt", list(WRITERS))
async def test_from_file_runs_with_functions_next_to_the_spec(fmt, funcs_module):
    folder, mod = funcs_module
    filename, write = WRITERS[fmt]
    path = folder / filename
    path.write_text(write(mod))
    assert mod not in sys.modules and str(folder) not in sys.path
    plumber = Plumber.from_file(path)
    result = await plumber.run()
    assert result.status == "completed"
    assert result.outputs["out"] == [("from-file", -3 * i) for i in range(4)]
    assert plumber.nodes[1].spec.options.queue_size == 2
    assert str(folder) not in sys.path


async def test_from_file_accepts_a_str_path_and_env_vars_override_the_file(funcs_module):
    folder, mod = funcs_module
    path = folder / "p.yaml"
    path.write_text(_yaml(mod))
    plumber = Plumber.from_file(str(path), env_vars={"tag": "given"})
    result = await plumber.run()
    assert result.outputs["out"] == [("given", -3 * i) for i in range(4)]
    assert all(p.env_vars == {"tag": "given"} for p in plumber.nodes)


def test_defaults_apply_to_every_node(funcs_module):
    folder, mod = funcs_module
    spec = _as_dict(mod)
    spec["defaults"] = {"queue_size": 5, "retries": 1}
    spec["nodes"]["neg"]["queue_size"] = 7
    path = folder / "d.json"
    path.write_text(json.dumps(spec))
    plumber = Plumber.from_file(path)
    options = {p.name: (p.spec.options.queue_size, p.spec.options.retries) for p in plumber.nodes}
    assert options == {"src": (5, 1), "scale": (2, 1), "neg": (7, 1), "out": (5, 1)}


@pytest.mark.parametrize("fmt", ["yaml", "json", "toml"])
def test_files_are_validated_like_dicts(fmt, funcs_module):
    folder, mod = funcs_module
    spec = _as_dict(mod)
    spec["nodes"]["scale"]["concurrency"] = 0
    spec["nodes"]["neg"]["coro"] = f"{mod}:no_such_function"
    spec["graph"]["neg"] = ["out", "ghost"]
    if fmt == "json":
        text = json.dumps(spec)
    elif fmt == "yaml":
        import yaml

        text = yaml.safe_dump(spec)
    else:
        text = (
            _toml(mod)
            .replace("queue_size = 2", "queue_size = 2\nconcurrency = 0")
            .replace(f'"{mod}:Ops.negate"', f'"{mod}:no_such_function"')
            .replace('neg = ["out"]', 'neg = ["out", "ghost"]')
        )
    path = folder / f"bad.{fmt}"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        Plumber.from_file(path)
    paths = sorted(p.path for p in info.value.problems)
    assert paths == ["graph.neg", "nodes.neg.coro", "nodes.scale.concurrency"]
    assert str(path) in str(info.value)


def test_import_strings_in_files_resolve_only_next_to_that_file(tmp_path, funcs_module):
    _, mod = funcs_module
    other = tmp_path / "other"
    other.mkdir()
    path = other / "p.yaml"
    path.write_text(_yaml(mod))  # the functions module is not next to this file
    with pytest.raises(SpecError) as info:
        Plumber.from_file(path)
    assert {p.path for p in info.value.problems} == {
        "nodes.src.coro",
        "nodes.scale.coro",
        "nodes.neg.coro",
        "nodes.out.coro",
    }


# -- unreadable files ------------------------------------------------------------------------


def _spec_error(path) -> SpecError:
    with pytest.raises(SpecError) as info:
        Plumber.from_file(path)
    return info.value


def test_bad_yaml_names_the_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("nodes:\n  a:\n    coro: x\n  b: [unclosed\ngraph: {}\n")
    err = _spec_error(path)
    message = str(err)
    assert str(path) in message
    assert "line 5" in message


def test_bad_json_names_the_file_and_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "nodes": {},\n  "graph": {,}\n}\n')
    message = str(_spec_error(path))
    assert str(path) in message
    assert "line 3" in message


def test_bad_toml_names_the_file_and_line(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('name = "x"\n[nodes.a]\ncoro = \n')
    message = str(_spec_error(path))
    assert str(path) in message
    assert "line 3" in message


def test_yaml_is_loaded_safely(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    touch = f"!!python/object/apply:os.mkdir ['{marker}']"  # an unsafe loader would run it
    path.write_text(f"nodes:\n  a: {touch}\ngraph: {{a: null}}\n")
    err = _spec_error(path)
    assert str(path) in str(err)
    assert not marker.exists()


def test_yaml_python_object_tag_is_rejected(tmp_path):
    path = tmp_path / "obj.yaml"
    path.write_text("nodes:\n  a: !!python/object:collections.OrderedDict {}\ngraph: {a: null}\n")
    err = _spec_error(path)
    assert str(path) in str(err)
    assert "python/object" in str(err)
    assert "line 2" in str(err)


def test_missing_file_is_a_spec_error(tmp_path):
    path = tmp_path / "absent.yaml"
    err = _spec_error(path)
    assert str(path) in str(err)


def test_unknown_suffix_is_a_spec_error(tmp_path):
    path = tmp_path / "pipeline.ini"
    path.write_text("[nodes]\n")
    err = _spec_error(path)
    assert str(path) in str(err)


def test_a_file_that_is_not_a_mapping_is_a_spec_error(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    err = _spec_error(path)
    assert str(path) in str(err)


async def test_same_module_name_next_to_two_spec_files_resolves_per_file(tmp_path):
    """Two projects each keep a functions module of the same name next to their spec."""
    name = f"funcs_{uuid.uuid4().hex[:10]}"
    results = {}
    try:
        for project in ("alpha", "beta"):
            folder = tmp_path / project
            folder.mkdir()
            (folder / f"{name}.py").write_text(f"async def which(item):\n    return {project!r}\n")
            spec = {
                "nodes": {"src": {"coro": [1]}, "w": {"coro": f"{name}:which", "collect": True}},
                "graph": {"src": ["w"], "w": None},
            }
            (folder / "pipeline.json").write_text(json.dumps(spec))
        for project in ("alpha", "beta"):
            result = await Plumber.from_file(tmp_path / project / "pipeline.json").run()
            results[project] = result.outputs["w"]
    finally:
        sys.modules.pop(name, None)
    assert results == {"alpha": ["alpha"], "beta": ["beta"]}


async def test_same_module_name_beside_two_specs_with_process_executors(tmp_path):
    """Both Plumbers are built first, then run: each node must still reach its own function."""
    name = f"procfuncs_{uuid.uuid4().hex[:10]}"
    plumbers = {}
    try:
        for project in ("alpha", "beta"):
            folder = tmp_path / project
            folder.mkdir()
            (folder / f"{name}.py").write_text(f"def which(item):\n    return {project!r}\n")
            spec = {
                "nodes": {
                    "src": {"coro": [1]},
                    "w": {"coro": f"{name}:which", "executor": "process", "collect": True},
                },
                "graph": {"src": ["w"], "w": None},
            }
            (folder / "pipeline.json").write_text(json.dumps(spec))
            plumbers[project] = Plumber.from_file(folder / "pipeline.json")
        results = {project: (await p.run()).outputs["w"] for project, p in plumbers.items()}
    finally:
        sys.modules.pop(name, None)
    assert results == {"alpha": ["alpha"], "beta": ["beta"]}


async def test_a_spec_folder_module_named_like_a_loaded_module_does_not_replace_it(tmp_path):
    """A local json.py serves its own spec; the standard json module stays what it was."""
    before = sys.modules["json"]
    (tmp_path / "json.py").write_text("async def loads(item):\n    return f'local {item}'\n")
    spec = {
        "nodes": {"src": {"coro": [1, 2]}, "w": {"coro": "json:loads", "collect": True}},
        "graph": {"src": ["w"], "w": None},
    }
    (tmp_path / "pipeline.json").write_text(json.dumps(spec))
    result = await Plumber.from_file(tmp_path / "pipeline.json").run()
    assert result.outputs["w"] == ["local 1", "local 2"]
    assert sys.modules["json"] is before
    assert json.loads("[1]") == [1]


def test_a_spec_file_over_the_size_limit_is_refused_before_parsing(tmp_path, monkeypatch):
    from pipelines.spec import loader

    monkeypatch.setattr(loader, "MAX_SPEC_BYTES", 1000)
    path = tmp_path / "big.yaml"
    path.write_text("nodes: {}\n" + "# padding\n" * 200)
    with pytest.raises(SpecError) as caught:
        Plumber.from_file(path)
    (problem,) = caught.value.problems
    assert problem.message.startswith("the file is 0.0 MB; spec files larger than 0 MB are refused")


def test_the_documented_spec_size_limit_is_10_mb():
    from pipelines.spec.loader import MAX_SPEC_BYTES

    assert MAX_SPEC_BYTES == 10 * 1024 * 1024


def test_yaml_is_read_with_a_safe_loader_even_the_fast_one(tmp_path):
    import yaml

    from pipelines.spec import loader

    assert loader._SafeLoader in (getattr(yaml, "CSafeLoader", None), yaml.SafeLoader)
    path = tmp_path / "evil.yaml"
    path.write_text("nodes: !!python/object/apply:os.system ['echo hacked']\ngraph: {}\n")
    with pytest.raises(SpecError) as caught:
        Plumber.from_file(path)
    assert "could not determine a constructor" in str(caught.value)
