/* pipelines dashboard: one run; its diagram and figures update live from the event stream. */
"use strict";

const RUN_ID = decodeURIComponent(window.location.pathname.split("/")[2] || "");
const STATE_CLASS = /^[a-z_]{1,32}$/;
let key = null;        // the diagram's key: Graphviz ids -> node names, edge titles -> edges
let lastStatus = null;
let logSeq = 0;        // the number of the last log record shown
let logsBusy = null;   // the fetch of log records under way, if any
let logsAgain = false; // fetch once more when it ends (something new may have come)
const LEVEL_CLASS = /^[a-z]{1,16}$/;

function field(dl, name, value) {
  if (value === null || value === undefined || value === "") return;
  dl.append(el("dt", { text: name }), el("dd", { text: value }));
}

function renderSummary(run) {
  document.title = "pipelines: " + run.pipeline + " " + run.id;
  document.getElementById("run-id").textContent = run.id;
  document.getElementById("pipeline").textContent = run.pipeline;
  document.getElementById("status").replaceWith(Object.assign(badge(run.status), { id: "status" }));
  const dl = document.getElementById("fields");
  dl.replaceChildren();
  field(dl, "started", when(run.started_at));
  field(dl, "ended", when(run.ended_at));
  field(dl, "duration", seconds(run.duration));
  field(dl, "items", run.items_in + " in, " + run.items_out + " out");
  field(dl, "worker", run.worker);
  field(dl, "trigger", run.trigger);
  field(dl, "version", run.version);
  field(dl, "spec", run.spec_path);
  const params = Object.entries(run.parameters || {}).map(([k, v]) => k + "=" + JSON.stringify(v));
  field(dl, "parameters", params.join(" "));
  if (run.noticed_at) field(dl, "crash noticed", when(run.noticed_at));
  if (run.cycle) {
    field(dl, "cycle", run.cycle + (run.cycle_of === run.id ? " (the first)" : " (the first: " + run.cycle_of + ")"));
  }
  const stop = document.getElementById("stop");
  stop.hidden = !(run.hosted && run.status === "running");
  const error = document.getElementById("error");
  error.hidden = !run.error;
  if (run.error) {
    const e = run.error;
    const where = e.node ? "node " + e.node : "the run";
    const item = e.item !== null && e.item !== undefined ? " on item " + e.item : "";
    const verdict = ["timed_out", "stalled", "late"].includes(run.status);  // a watchdog's
    document.getElementById("error-text").textContent = verdict
      ? (e.type || "") + ": " + (e.message || "")
      : where + " failed" + item + ": " + (e.type || "") + ": " + (e.message || "");
  }
}

function renderTables(run) {
  const rows = Object.entries(run.nodes || {}).map(([name, n]) => el("tr", { "data-node": name },
    cell(name), cell(n.kind), cell(n.state),
    cell(n.received, "num"), cell(n.emitted, "num"),
    cell(n.failed, n.failed ? "num failed-count" : "num"),
    cell(n.retried, "num"), cell(n.dropped, "num"), cell(n.peak_depth, "num"),
    cell(n.depth, "num"), cell(seconds(n.busy), "num"), cell(seconds(n.latency_p50), "num"),
    cell(seconds(n.latency_p95), "num"), cell(seconds(n.latency_max), "num"),
    cell(n.last_error, "wrap")));
  fillRows(document.getElementById("nodes"), rows);
  const edges = (run.edges || []).map((e) => el("tr", {},
    cell(e.source + (e.kind === "dead_letter" ? " → (dead letter) " : " → ") + e.target),
    cell(e.capacity || "unbounded", "num"), cell(e.depth, "num"), cell(e.peak_depth, "num"),
    cell(e.dropped, e.dropped ? "num failed-count" : "num")));
  fillRows(document.getElementById("edges"), edges);
}

/** Graphviz's SVG, parsed as XML and stripped of anything that could run or load. */
function safeSvg(text) {
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const svg = doc.documentElement;
  if (!svg || svg.nodeName !== "svg") throw new Error("the diagram is not an SVG image");
  for (const bad of svg.querySelectorAll("script, foreignObject, iframe, image, use")) bad.remove();
  for (const node of svg.querySelectorAll("*")) {
    for (const attr of Array.from(node.attributes)) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on") || name === "href" || name === "xlink:href" || name === "style") {
        node.removeAttribute(attr.name);
      }
    }
  }
  return document.importNode(svg, true);
}

function nodeText(kind, n) {
  return kind === "source" ? "out " + n.emitted : "in " + n.received + ", out " + n.emitted;
}

function extrasText(n) {
  const parts = [];
  for (const name of ["failed", "retried", "dropped"]) if (n[name]) parts.push(name + " " + n[name]);
  return parts.join(", ");
}

function paintDiagram(run) {
  const holder = document.getElementById("diagram");
  if (!key) return;
  const title = holder.querySelector("svg g.graph > text");
  if (title && run.duration !== null && run.duration !== undefined) {
    const d = run.duration;  // as pipelines.runtime.stats.format_seconds writes it
    const how = run.status + " in " + (d < 1 ? (d * 1000).toFixed(1) + " ms" : d.toFixed(2) + " s");
    title.textContent = key.name ? key.name + ": " + how : how;
  }
  for (const group of holder.querySelectorAll("g.node")) {
    const title = group.querySelector("title");
    const entry = title ? key.nodes[title.textContent] : null;
    const n = entry ? (run.nodes || {})[entry.name] : null;
    if (!n) continue;
    const texts = group.querySelectorAll("text");
    if (texts.length > entry.line) texts[entry.line].textContent = nodeText(n.kind, n);
    // A run drawn with failures already has a line for them; otherwise the border says it.
    const extra = texts[entry.line + 1];
    if (extra && /^(failed|retried|dropped) /.test(extra.textContent)) extra.textContent = extrasText(n);
    group.classList.toggle("has-failures", n.failed > 0);
    for (const cls of Array.from(group.classList)) if (cls.startsWith("state-")) group.classList.remove(cls);
    if (STATE_CLASS.test(n.state)) group.classList.add("state-" + n.state);
  }
  const byEdge = {};
  for (const e of run.edges || []) byEdge[e.source + "\u0000" + e.target] = e;
  for (const group of holder.querySelectorAll("g.edge")) {
    const title = group.querySelector("title");
    const ends = title ? key.edges[title.textContent] : null;
    const e = ends ? byEdge[ends[0] + "\u0000" + ends[1]] : null;
    if (!e) continue;
    for (const text of group.querySelectorAll("text")) {
      if (/^(peak|depth) \d+/.test(text.textContent)) {
        text.textContent = "depth " + e.depth + ", peak " + e.peak_depth;
      } else if (/^dropped \d+/.test(text.textContent)) {
        text.textContent = "dropped " + e.dropped;
      }
    }
    group.classList.toggle("busy", e.depth > 0);
  }
}

function logTime(iso) {
  const date = new Date(iso);
  if (isNaN(date)) return String(iso || "");
  return date.toLocaleTimeString() + "." + String(date.getMilliseconds()).padStart(3, "0");
}

function logRow(r) {
  const level = String(r.level || "").toLowerCase();
  return el("tr", { "data-seq": r.seq },
    cell(logTime(r.time)),
    cell(r.level, LEVEL_CLASS.test(level) ? "level-" + level : null),
    cell(r.node),
    cell(r.message, "message"));
}

function logNote(data) {
  const parts = [logSeq + " record" + (logSeq === 1 ? "" : "s")];
  if (data.dropped) parts.push(data.dropped + " more not kept (the first " + data.limit + " of a run are)");
  if (data.truncated) parts.push(data.truncated + " cut");
  return "(" + parts.join(", ") + ")";
}

/** Append the run's log records numbered above the last one shown (pages of up to 1000). */
async function loadLogs() {
  if (logsBusy) { logsAgain = true; return logsBusy; }
  logsBusy = (async () => {
    const body = document.getElementById("logs").tBodies[0];
    try {
      for (;;) {
        const data = await api("/api/runs/" + encodeURIComponent(RUN_ID) + "/logs?after=" + logSeq);
        if (data.logs.length) {
          body.append(...data.logs.map(logRow));
          logSeq = data.logs[data.logs.length - 1].seq;
        }
        document.getElementById("logs-note").textContent = logNote(data);
        if (data.logs.length < data.limit) break;
      }
    } catch (error) {
      document.getElementById("logs-note").textContent = "(log records unavailable: " + error.message + ")";
    }
  })();
  try {
    await logsBusy;
  } finally {
    logsBusy = null;
  }
  if (logsAgain) {
    logsAgain = false;
    await loadLogs();
  }
}

function render(run) {
  lastStatus = run.status;
  renderSummary(run);
  renderTables(run);
  paintDiagram(run);
}

async function loadDiagram(run) {
  const holder = document.getElementById("diagram");
  try {
    const drawn = await api("/api/runs/" + encodeURIComponent(RUN_ID) + "/diagram");
    key = { nodes: drawn.nodes, edges: drawn.edges, name: drawn.name };
    holder.replaceChildren(safeSvg(drawn.svg));
    paintDiagram(run);
  } catch (error) {
    holder.replaceChildren(el("p", { class: "muted", text: "no diagram: " + error.message }));
  }
}

async function follow() {
  const live = document.getElementById("live");
  live.textContent = "live";
  try {
    await eventStream("/api/runs/" + encodeURIComponent(RUN_ID) + "/events", (kind, data) => {
      if (kind === "snapshot") {
        render(data);
        loadLogs();
        live.textContent = "live, updated " + new Date().toLocaleTimeString();
      } else if (kind === "end") {
        live.textContent = "ended: " + data.status;
        loadLogs();  // the records of its last moments
      }
    });
  } catch (error) {
    live.textContent = "live updates stopped: " + error.message;
  }
}

async function stopRun() {
  const button = document.getElementById("stop");
  button.disabled = true;
  try {
    await api("/api/runs/" + encodeURIComponent(RUN_ID) + "/stop", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: "{}",
    });
    button.textContent = "stopping…";
  } catch (error) {
    showProblem("could not stop the run: " + error.message);
    button.disabled = false;
  }
}

async function main() {
  document.getElementById("run-id").textContent = RUN_ID;
  document.getElementById("stop").addEventListener("click", stopRun);
  let run;
  try {
    run = await api("/api/runs/" + encodeURIComponent(RUN_ID));
  } catch (error) {
    showProblem(error.message);
    return;
  }
  render(run);
  loadLogs();
  await loadDiagram(run);
  if (run.status === "running") follow();
}

main();
