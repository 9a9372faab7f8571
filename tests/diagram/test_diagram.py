"""Diagrams of a graph: DOT (parsed back), images drawn by Graphviz, Mermaid."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import needs_dot

from pipelines import Plumber, RunResult, UnboundedQueueWarning
from pipelines.diagram import (
    DiagramError,
    GraphvizNotFound,
    format_for,
    render,
    render_result,
    to_dot,
    to_mermaid,
)

SPECS = Path(__file__).resolve().parent.parent / "specs"
SVG = "{http://www.w3.org/2000/svg}svg"

DEMO_EDGES = {
    ("left", "clean"),
    ("right", "clean"),
    ("clean", "upper"),
    ("clean", "length"),
    ("upper", "pair"),
    ("length", "pair"),
    ("pair", "check"),
    ("check", "report"),
    ("check", "rejects"),
}


# -- a small reader for the DOT the graphviz package writes (one statement a line) ----------

_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]]+)')
_NODE = re.compile(r'^\t("(?:[^"\\]|\\.)*"|[\w.\-]+) \[(.*)\]$')
_EDGE = re.compile(r'^\t("(?:[^"\\]|\\.)*"|[\w.\-]+) -> ("(?:[^"\\]|\\.)*"|[\w.\-]+) \[(.*)\]$')


def _unquote(text: str) -> str:
    return text[1:-1].replace('\\"', '"') if text.startswith('"') else text


def _attrs(text: str) -> dict[str, str]:
    return {key: _unquote(value) for key, value in _ATTR.findall(text)}


def parse_dot(
    source: str,
) -> tuple[dict[str, dict[str, str]], dict[tuple[str, str], dict[str, str]], dict[str, str]]:
    """(nodes -> attrs, (tail, head) -> attrs, graph attrs) of a DOT text."""
    nodes, edges, graph = {}, {}, {}
    for line in source.splitlines():
        if m := _EDGE.match(line):
            edges[(_unquote(m[1]), _unquote(m[2]))] = _attrs(m[3])
        elif line.startswith("\tgraph ["):
            graph.update(_attrs(line))
        elif (m := _NODE.match(line)) and m[1] not in ("node", "edge"):
            nodes[_unquote(m[1])] = _attrs(m[2])
    return nodes, edges, graph


def parse_mermaid(
    source: str,
) -> tuple[dict[str, tuple[str, str]], dict[tuple[str, str], tuple[str, str]]]:
    """(node id -> (label, class), (tail, head) -> (arrow, label)) of a Mermaid flowchart."""
    nodes, edges = {}, {}
    for line in source.splitlines():
        if m := re.fullmatch(r'    (\w+)(?:\(\["|\("|\[\(")(.*?)(?:"\]\)|"\)|"\)\]):::(\w+)', line):
            nodes[m[1]] = (m[2], m[3])
        elif m := re.fullmatch(r'    (\w+) (-->|-\.->)\|"(.*)"\| (\w+)', line):
            edges[(m[1], m[4])] = (m[2], m[3])
    return nodes, edges


@pytest.fixture
def demo() -> Plumber:
    return Plumber.from_file(SPECS / "demo.yaml")


@pytest.fixture
async def demo_result(demo) -> RunResult:
    return await demo.run()


# -- DOT ----------------------------------------------------------------------------


def test_dot_has_every_node_and_edge(demo):
    nodes, edges, _ = parse_dot(to_dot(demo.plan))
    assert set(nodes) == {
        "left",
        "right",
        "clean",
        "upper",
        "length",
        "pair",
        "check",
        "report",
        "rejects",
    }
    assert set(edges) == DEMO_EDGES


def test_layout_is_left_to_right_with_the_graph_name_as_title(demo):
    _, _, graph = parse_dot(to_dot(demo.plan))
    assert graph["rankdir"] == "LR"
    assert graph["label"] == "word-check"


def test_node_shape_and_colour_follow_its_kind(demo):
    nodes, _, _ = parse_dot(to_dot(demo.plan))
    looks = {name: (a["shape"], a["color"]) for name, a in nodes.items()}
    assert looks == {
        "left": ("cds", "#2e7d32"),
        "right": ("cds", "#2e7d32"),
        "clean": ("box", "#1f5fa8"),
        "upper": ("box", "#1f5fa8"),
        "length": ("box", "#1f5fa8"),
        "pair": ("box", "#1f5fa8"),
        "check": ("box", "#1f5fa8"),
        "report": ("cylinder", "#b26a00"),
        "rejects": ("cylinder", "#b26a00"),
    }


def test_labels_show_the_function_and_options_that_are_not_default(demo):
    nodes, _, _ = parse_dot(to_dot(demo.plan))
    labels = {name: a["label"].split("\\n") for name, a in nodes.items()}
    assert labels["left"] == ["left", "words()"]
    assert labels["upper"] == ["upper", "upper()", "concurrency 4"]
    assert labels["length"] == ["length", "length()", "executor thread"]
    assert labels["check"] == ["check", "check()", "retries 2"]
    assert labels["report"] == ["report", "keep()"]


def test_zip_and_merge_nodes_are_marked(demo):
    nodes, edges, _ = parse_dot(to_dot(demo.plan))
    assert nodes["clean"]["label"].split("\\n")[2] == "merge of 2 inputs"
    assert nodes["pair"]["label"].split("\\n")[2] == "zip of 2 inputs"
    assert nodes["clean"]["peripheries"] == nodes["pair"]["peripheries"] == "2"
    assert "peripheries" not in nodes["upper"]
    # The position of each zip input (the order of the tuple) is on its arrow head.
    assert (edges[("upper", "pair")]["headlabel"], edges[("length", "pair")]["headlabel"]) == (
        "1",
        "2",
    )
    assert "headlabel" not in edges[("left", "clean")]


def test_edges_show_link_capacity_and_dead_letter_edges_are_dashed(demo):
    _, edges, _ = parse_dot(to_dot(demo.plan))
    assert edges[("clean", "length")]["label"] == "cap 64"
    assert edges[("clean", "upper")]["label"] == "cap 1024"
    assert "style" not in edges[("check", "report")]
    dead = edges[("check", "rejects")]
    assert (dead["style"], dead["label"]) == ("dashed", "dead letter\\ncap 1024")


def test_an_unbounded_link_is_labelled_unbounded():
    spec = {
        "nodes": {"a": {"coro": [1, 2]}, "b": {"coro": print, "queue_size": 0}},
        "graph": {"a": ["b"], "b": None},
    }
    with pytest.warns(UnboundedQueueWarning):
        plumber = Plumber(spec)
    _, edges, _ = parse_dot(to_dot(plumber.plan))
    assert edges[("a", "b")]["label"] == "unbounded"


@needs_dot
def test_awkward_node_names_keep_their_label_and_still_draw(tmp_path):
    async def keep(x):
        return x

    spec = {
        "nodes": {
            "in:put": {"coro": [1]},
            "two words": {"coro": keep},
            "end": {"coro": keep},
            "<b>": {"coro": keep},
        },
        "graph": {"in:put": ["two words"], "two words": ["end"], "end": ["<b>"], "<b>": None},
    }
    plan = Plumber(spec).plan
    nodes, edges, _ = parse_dot(to_dot(plan))
    names = {a["label"].split("\\n")[0]: node_id for node_id, a in nodes.items()}
    assert set(names) == {"in:put", "two words", "end", "<b>"}
    assert ":" not in names["in:put"]  # a ':' would be read as a port in an edge
    assert set(edges) == {
        (names["in:put"], names["two words"]),
        (names["two words"], names["end"]),
        (names["end"], names["<b>"]),
    }
    assert ET.parse(render(plan, tmp_path / "odd.svg")).getroot().tag == SVG
    mermaid_nodes, mermaid_edges = parse_mermaid(to_mermaid(plan))
    assert {label.split("<br/>")[0] for label, _ in mermaid_nodes.values()} == {
        "in:put",
        "two words",
        "end",
        "#lt;b#gt;",
    }
    assert "end" not in mermaid_nodes  # a Mermaid keyword
    assert len(mermaid_edges) == 3


# -- after a run --------------------------------------------------------------------


def test_a_run_annotates_items_failures_and_peak_depths(demo_result):
    nodes, edges, graph = parse_dot(to_dot(demo_result.graph, demo_result))
    labels = {name: a["label"].split("\\n") for name, a in nodes.items()}
    assert labels["left"] == ["left", "words()", "out 4"]
    assert labels["right"] == ["right", "words()", "out 5"]
    assert labels["clean"][-1] == "in 9, out 9"
    assert labels["check"][-2:] == ["in 9, out 6", "failed 3, retried 6"]
    assert labels["report"][-1] == "in 6, out 6"
    assert labels["rejects"][-1] == "in 3, out 3"
    # Failures: red border; nodes without failures keep their kind's look.
    assert (nodes["check"]["color"], nodes["check"]["penwidth"]) == ("#c62828", "2.5")
    assert nodes["report"]["color"] == "#b26a00"
    # Each edge shows the peak input depth of the node it feeds.
    for (_tail, head), attrs in edges.items():
        assert attrs["label"].split("\\n")[-1] == f"peak {demo_result.stats[head].peak_depth}"
    assert re.fullmatch(r"word-check: completed in (\d+\.\d ms|\d+\.\d\d s)", graph["label"])


@needs_dot
def test_result_render_draws_an_svg_of_the_run(demo_result, tmp_path):
    path = demo_result.render(tmp_path / "run.svg")
    root = ET.parse(path).getroot()
    assert root.tag == SVG
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "failed 3, retried 6" in texts


def test_a_result_without_a_graph_cannot_be_drawn(tmp_path):
    with pytest.raises(DiagramError, match="has no graph"):
        render_result(RunResult("completed", 0.0, {}), tmp_path / "x.svg")


# -- images and files ---------------------------------------------------------------


@pytest.mark.parametrize(("name", "magic"), [("g.png", b"\x89PNG\r\n\x1a\n"), ("g.pdf", b"%PDF-")])
@needs_dot
def test_binary_images_are_real_images(demo, tmp_path, name, magic):
    path = demo.render(tmp_path / name)
    assert path == tmp_path / name
    assert path.read_bytes().startswith(magic)


@needs_dot
def test_svg_is_an_svg_document_with_every_node(demo, tmp_path):
    root = ET.parse(demo.render(tmp_path / "g.svg")).getroot()
    assert root.tag == SVG
    titles = {t.text for t in root.iter("{http://www.w3.org/2000/svg}title")}
    assert titles == {"word-check", *demo.graph.nodes, *(f"{a}->{b}" for a, b in DEMO_EDGES)}


def test_text_formats_and_the_plumber_methods_agree(demo, tmp_path):
    assert demo.render(tmp_path / "g.gv").read_text() == demo.to_dot() == to_dot(demo.plan)
    assert demo.render(tmp_path / "g.mmd").read_text() == demo.to_mermaid() == to_mermaid(demo.plan)
    assert demo.render(tmp_path / "g.txt", format="dot").read_text() == demo.to_dot()


@pytest.mark.parametrize(
    ("path", "format", "expected"),
    [
        ("a.svg", None, "svg"),
        ("a.PNG", None, "png"),
        ("a.gv", None, "dot"),
        ("a.mermaid", None, "mermaid"),
        ("a.svg", "mmd", "mermaid"),
        ("a", "DOT", "dot"),
    ],
)
def test_format_comes_from_the_argument_or_the_suffix(path, format, expected):
    assert format_for(path, format) == expected


@pytest.mark.parametrize(
    ("path", "format", "message"),
    [
        ("a.txt", None, "cannot tell the diagram format from 'a.txt'"),
        ("a.svg", "jpeg", "unknown diagram format 'jpeg'"),
    ],
)
def test_unknown_formats_are_refused(demo, tmp_path, monkeypatch, path, format, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DiagramError, match=message):
        demo.render(path, format)
    assert list(tmp_path.iterdir()) == []


def test_missing_graphviz_is_one_clear_sentence_and_text_still_works(demo, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no 'dot' here
    with pytest.raises(GraphvizNotFound) as caught:
        demo.render(tmp_path / "g.svg")
    assert str(caught.value) == (
        "Graphviz's 'dot' program is needed to draw svg images but was not found on PATH: "
        "install Graphviz (apt-get install graphviz, or brew install graphviz on macOS), "
        "or write DOT (.dot) or Mermaid (.mmd) text, which need no Graphviz"
    )
    assert isinstance(caught.value, DiagramError)
    assert not (tmp_path / "g.svg").exists()
    assert demo.render(tmp_path / "g.dot").read_text().startswith('digraph "word-check" {')
    assert (
        demo.render(tmp_path / "g.mmd")
        .read_text()
        .startswith("---\ntitle: word-check\n---\nflowchart LR\n")
    )


# -- Mermaid ------------------------------------------------------------------------


def test_mermaid_has_the_same_nodes_and_edges(demo):
    nodes, edges = parse_mermaid(to_mermaid(demo.plan))
    assert set(nodes) == set(demo.graph.nodes)
    assert set(edges) == DEMO_EDGES
    assert {name: cls for name, (_, cls) in nodes.items()} == {
        name: attrs["kind"] for name, attrs in demo.graph.nodes(data=True)
    }
    assert nodes["pair"][0] == "pair<br/>pair()<br/>zip of 2 inputs"
    assert edges[("clean", "length")] == ("-->", "cap 64")
    assert edges[("check", "rejects")] == ("-.->", "dead letter<br/>cap 1024")


def test_mermaid_of_a_run_marks_failed_nodes(demo_result):
    source = to_mermaid(demo_result.graph, demo_result)
    nodes, edges = parse_mermaid(source)
    assert nodes["check"][1] == "failed"
    assert nodes["check"][0].endswith("<br/>in 9, out 6<br/>failed 3, retried 6")
    assert nodes["report"][1] == "sink"
    assert (
        edges[("check", "report")][1]
        == f"cap 1024<br/>peak {demo_result.stats['report'].peak_depth}"
    )
    assert "classDef failed " in source
