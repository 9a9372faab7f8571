/* pipelines dashboard: the schedules, the runs table, the workers and the hosted pipelines;
   refreshes itself. Everything from the server is shown as text (textContent). */
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

function runLink(runId, text) {
  if (!runId) return text || "";
  return el("a", { href: "/runs/" + encodeURIComponent(runId), text: text || runId });
}

function scheduleRow(schedule) {
  const server = schedule.worker ? schedule.worker + " (" + schedule.worker_status + ")" : "";
  return el("tr", { "data-schedule": schedule.name },
    cell(schedule.name),
    cell(schedule.schedule + (!schedule.enabled ? " (disabled)" : schedule.paused ? " (paused)" : "")),
    cell(when(schedule.next_at)),
    el("td", {}, runLink(schedule.last_run, when(schedule.last_run_at))),
    el("td", {}, schedule.last_status ? badge(schedule.last_status) : ""),
    cell(schedule.queued, "num"),
    cell(server));
}

function occurrenceRows(schedules) {
  const rows = [];
  for (const schedule of schedules) {
    for (const occurrence of schedule.recent) {
      let moment = when(occurrence.due_at);
      if (occurrence.last_due !== occurrence.due_at) {
        const count = occurrence.count === null ? "many" : occurrence.count;
        moment += " .. " + when(occurrence.last_due) + " (" + count + ")";
      }
      const fate = occurrence.fate === "started" && occurrence.run_status
        ? occurrence.run_status : occurrence.fate;
      rows.push([occurrence.due_at, el("tr", {},
        cell(schedule.name),
        cell(moment),
        el("td", {}, badge(fate)),
        cell(occurrence.reason),
        el("td", {}, el("code", {}, runLink(occurrence.run_id))))]);
    }
  }
  rows.sort((a, b) => (a[0] < b[0] ? 1 : a[0] > b[0] ? -1 : 0));
  return rows.slice(0, 20).map((entry) => entry[1]);
}

async function refresh() {
  try {
    const [runs, workers, hosted, schedules] = await Promise.all([
      api("/api/runs?limit=50"), api("/api/workers"), api("/api/pipelines"),
      api("/api/schedules?recent=5"),
    ]);
    document.getElementById("schedules-section").hidden = schedules.schedules.length === 0;
    fillRows(document.getElementById("schedules"), schedules.schedules.map(scheduleRow));
    fillRows(document.getElementById("occurrences"), occurrenceRows(schedules.schedules));
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
