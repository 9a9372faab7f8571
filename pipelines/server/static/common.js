/* pipelines dashboard: shared helpers. Everything from the server is shown with
   textContent (never innerHTML), so names from specs and items stay text. */
"use strict";

const TOKEN_KEY = "pipelines.token";
const SAFE_CLASS = /^[a-z_]{1,32}$/;

/** An element with attributes and children (strings become text nodes). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = String(value);
    else node.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A coloured status word; the class comes from a fixed pattern only. */
function badge(status) {
  const span = el("span", { class: "status", text: status || "" });
  if (SAFE_CLASS.test(status || "")) span.classList.add("status-" + status);
  return span;
}

function seconds(value) {
  if (value === null || value === undefined) return "";
  if (value < 1) return (value * 1000).toFixed(1) + " ms";
  if (value < 60) return value.toFixed(2) + " s";
  const minutes = Math.floor(value / 60);
  if (minutes < 60) return minutes + "m " + String(Math.floor(value % 60)).padStart(2, "0") + "s";
  return Math.floor(minutes / 60) + "h " + String(minutes % 60).padStart(2, "0") + "m";
}

function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return isNaN(date) ? String(iso) : date.toLocaleString();
}

function showProblem(message) {
  const p = document.getElementById("problem");
  if (!p) return;
  p.textContent = message || "";
  p.hidden = !message;
}

let tokenWait = null;

/** Ask for the token once (a form on the page, not a browser dialog). */
function askToken() {
  if (tokenWait) return tokenWait;
  const form = document.getElementById("auth");
  form.hidden = false;
  tokenWait = new Promise((resolve) => {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const value = document.getElementById("token").value.trim();
      sessionStorage.setItem(TOKEN_KEY, value);
      form.hidden = true;
      tokenWait = null;
      resolve(value);
    }, { once: true });
  });
  return tokenWait;
}

function authHeaders(extra) {
  const headers = Object.assign({}, extra || {});
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers["Authorization"] = "Bearer " + token;
  return headers;
}

/** fetch() with the token; a 401 asks for it and tries again. Returns the Response. */
async function apiFetch(path, options) {
  for (;;) {
    const opts = Object.assign({}, options || {});
    const sent = sessionStorage.getItem(TOKEN_KEY);
    opts.headers = authHeaders(opts.headers);
    const response = await fetch(path, opts);
    if (response.status !== 401) return response;
    // Ask only if the token this request carried is still the one we have: requests
    // sent before the token was given just try again with it.
    if (sessionStorage.getItem(TOKEN_KEY) === sent) {
      sessionStorage.removeItem(TOKEN_KEY);
      await askToken();
    }
  }
}

/** GET (or another method) returning JSON; throws an Error with the server's message. */
async function api(path, options) {
  const response = await apiFetch(path, options);
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) {
    const message = data && data.error ? data.error : response.status + " " + response.statusText;
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return data;
}

/** Read a Server-Sent Events stream with fetch (EventSource cannot send the token). */
async function eventStream(path, onEvent, signal) {
  const response = await apiFetch(path, { signal: signal, headers: { "Accept": "text/event-stream" } });
  if (!response.ok || !response.body) throw new Error("event stream: " + response.status);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let kind = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) kind = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length) onEvent(kind, JSON.parse(data.join("\n")));
    }
  }
}

/** Replace a table body's rows. */
function fillRows(table, rows) {
  const body = table.tBodies[0];
  body.replaceChildren(...rows);
}

function cell(value, cls) {
  return el("td", { class: cls || null, text: value === null || value === undefined ? "" : value });
}
