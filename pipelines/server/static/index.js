/* pipelines dashboard: the runs table, the workers and the hosted pipelines; refreshes itself. */
"use strict";

const REFRESH_MS = 2000;

function runRow(run) {
  const link = el("a", { href: "/runs/" + encodeURIComponent(run.id), text: run.id });
  return el("tr", { "data-run": run.id },
    el("td", {}, el("code", {}, link)),
    cell(run.pipeline),
    el("td", {}, badge(run.status)),
    cell(when(run.started_at)),
    cell(seconds(run.duration), "num"),
    cell(run.items_in, "num"),
    cell(run.items_out, "num"),
    cell(run.worker));
}

function workerRow(worker) {
  return el("tr", {},
    cell(worker.name),
    el("td", {}, badge(worker.status)),
    cell(worker.version),
    cell(worker.host),
    cell(worker.pid, "num"),
    cell(when(worker.last_heartbeat)));
}

async function startRun(name, button) {
  button.disabled = true;
  try {
    const started = await api("/api/pipelines/" + encodeURIComponent(name) + "/runs", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: "{}",
    });
    window.location.href = "/runs/" + encodeURIComponent(started.id);
  } catch (error) {
    showProblem("could not start " + name + ": " + error.message);
    button.disabled = false;
  }
}

function hostedRow(pipeline) {
  const button = el("button", { type: "button", text: "Start" });
  button.addEventListener("click", () => startRun(pipeline.name, button));
  return el("tr", {},
    cell(pipeline.name),
    cell(pipeline.version),
    cell(pipeline.nodes.length, "num"),
    cell(pipeline.active_runs.length, "num"),
    el("td", {}, button));
}

async function refresh() {
  try {
    const [runs, workers, hosted] = await Promise.all([
      api("/api/runs?limit=50"), api("/api/workers"), api("/api/pipelines"),
    ]);
    fillRows(document.getElementById("runs"), runs.runs.map(runRow));
    document.getElementById("no-runs").hidden = runs.runs.length > 0;
    fillRows(document.getElementById("workers"), workers.workers.map(workerRow));
    document.getElementById("hosted-section").hidden = hosted.pipelines.length === 0;
    fillRows(document.getElementById("hosted"), hosted.pipelines.map(hostedRow));
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    showProblem("");
  } catch (error) {
    showProblem("cannot reach the server: " + error.message);
  }
  setTimeout(refresh, REFRESH_MS);
}

refresh();
