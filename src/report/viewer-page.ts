/**
 * The viewer's page: plain HTML, CSS and JavaScript in one document, nothing loaded
 * from elsewhere. Its state (log, comparison, filters, episode, step) lives in the
 * address's query, so a view can be bookmarked or reloaded. Episode text is always
 * set as text, never parsed as HTML.
 */
export const VIEWER_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>react-rl view</title>
<style>
* { box-sizing: border-box; }
body { font-family: sans-serif; margin: 0; color: #222; font-size: 14px; height: 100vh; display: flex; flex-direction: column; }
header { padding: 0.5em 1em; background: #f4f4f4; border-bottom: 1px solid #ddd; display: flex; flex-wrap: wrap; gap: 0.4em 1em; align-items: center; }
header h1 { font-size: 1.1em; margin: 0 1em 0 0; }
label { white-space: nowrap; }
main { display: flex; flex: 1; min-height: 0; }
#list { width: 36%; overflow-y: auto; border-right: 1px solid #ddd; margin: 0; padding: 0; list-style: none; }
#list li { padding: 0.35em 0.8em; border-bottom: 1px solid #eee; cursor: pointer; }
#list li.selected { background: #e3eefc; }
#list .mark { font-weight: bold; margin-right: 0.4em; }
.ok { color: #1a7f37; } .bad { color: #c62828; } .muted { color: #777; }
#detail { flex: 1; overflow-y: auto; padding: 0.8em 1.2em; }
#steps-nav { margin-bottom: 0.6em; display: flex; gap: 0.5em; align-items: center; }
#episodes { display: flex; gap: 1.2em; align-items: flex-start; }
.episode { flex: 1; min-width: 0; }
.episode h2 { font-size: 1em; margin: 0.2em 0; }
.question { font-size: 1.1em; font-weight: bold; }
.facts { color: #444; margin: 0.3em 0 0.6em; }
.steps { padding-left: 0; list-style: none; }
.step { border-left: 3px solid #ccc; padding: 0.2em 0.6em; margin-bottom: 0.6em; }
.step.current { border-left-color: #1f77b4; background: #f5f9ff; }
.step.invalid { border-left-color: #c62828; }
.thought { font-style: italic; }
.action { font-family: monospace; font-weight: bold; }
.observation { font-family: monospace; white-space: pre-wrap; background: #f7f7f7; padding: 0.2em 0.4em; }
#status { padding: 0 1em; color: #c62828; }
#status:not(:empty) { padding: 0.3em 1em; }
</style>
</head>
<body>
<header>
  <h1>react-rl view</h1>
  <label>log <select id="file"></select></label>
  <label>compare with <select id="compare"></select></label>
  <label>outcome <select id="outcome"><option value="all">all</option><option value="success">success</option><option value="failure">failure</option></select></label>
  <label>family <select id="type"></select></label>
  <label>change <select id="change"><option value="all">all</option><option value="fixed">fixed</option><option value="broken">broken</option><option value="same">same</option></select></label>
  <label>search <input id="search" type="search" size="16"></label>
  <span id="count" class="muted"></span>
</header>
<div id="status"></div>
<main>
  <ul id="list"></ul>
  <section id="detail"></section>
</main>
<script>
"use strict";
const KEYS = ["file", "compare", "outcome", "type", "change", "search", "index", "step"];
const state = { file: "", compare: "", outcome: "all", type: "", change: "all", search: "", index: "", step: "" };
let listed = [];

function byId(id) { return document.getElementById(id); }

function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) node.append(child);
  return node;
}

function option(value, text) {
  const node = el("option", "", text);
  node.value = value;
  return node;
}

async function api(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== "" && value !== "all") query.set(key, value);
  const response = await fetch(path + "?" + query);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function readAddress() {
  const query = new URLSearchParams(location.search);
  for (const key of KEYS) if (query.has(key)) state[key] = query.get(key);
}

function writeAddress() {
  const query = new URLSearchParams();
  for (const key of KEYS) if (state[key] !== "" && state[key] !== "all") query.set(key, state[key]);
  history.replaceState(null, "", "?" + query);
}

function showError(error) { byId("status").textContent = error ? String(error.message || error) : ""; }

async function start() {
  readAddress();
  const { logs } = await api("/api/logs", {});
  const readable = logs.filter((log) => !log.error);
  if (readable.length === 0) {
    showError("no trajectory log in this folder" + (logs.length ? " (" + logs.map((log) => log.path + ": " + log.error).join("; ") + ")" : ""));
    return;
  }
  if (!readable.some((log) => log.path === state.file)) {
    // The demo's two evaluations, compared, when the folder has them.
    const before = readable.find((log) => /(^|\\/)before\\//.test(log.path));
    const after = readable.find((log) => /(^|\\/)after\\//.test(log.path));
    state.file = before && after ? before.path : readable[0].path;
    state.compare = before && after ? after.path : state.compare;
  }
  const describe = (log) => log.path + " (" + log.episodes + ", " + Math.round(100 * log.success) + "% success)";
  const unreadable = logs.filter((log) => log.error).map((log) => {
    const node = option("", log.path + ": not a trajectory log (" + log.error + ")");
    node.disabled = true;
    return node;
  });
  byId("file").replaceChildren(...readable.map((log) => option(log.path, describe(log))), ...unreadable);
  byId("compare").replaceChildren(option("", "nothing"), ...readable.map((log) => option(log.path, describe(log))));
  const types = [...new Set(readable.flatMap((log) => log.types))].sort();
  byId("type").replaceChildren(option("", "all"), ...types.map((type) => option(type, type)));
  for (const key of ["file", "compare", "outcome", "type", "change", "search"]) {
    const control = byId(key);
    control.value = state[key];
    control.addEventListener(key === "search" ? "input" : "change", () => {
      state[key] = control.value;
      state.index = "";
      state.step = "";
      loadList().catch(showError);
    });
  }
  document.addEventListener("keydown", onKey);
  await loadList();
}

async function loadList() {
  showError("");
  byId("change").disabled = state.compare === "";
  if (state.compare === "") state.change = "all";
  const { episodes } = await api("/api/episodes", { file: state.file, compare: state.compare, outcome: state.outcome, type: state.type, change: state.change, search: state.search });
  listed = episodes;
  byId("count").textContent = episodes.length + " episodes";
  byId("list").replaceChildren(...episodes.map(listItem));
  if (!episodes.some((episode) => String(episode.index) === state.index)) state.index = episodes.length ? String(episodes[0].index) : "";
  await showEpisode();
}

function outcomeMark(success) { return el("span", "mark " + (success ? "ok" : "bad"), success ? "\\u2713" : "\\u2717"); }

function shareMark(share) {
  if (share === null) return el("span", "mark muted", "\\u2013");
  return el("span", "mark " + (share > 0 ? "ok" : "bad"), share === 1 ? "\\u2713" : share === 0 ? "\\u2717" : Math.round(100 * share) + "%");
}

function listItem(episode) {
  const item = el("li", "", outcomeMark(episode.success));
  if ("other" in episode) item.append(el("span", "muted", "\\u2192 "), shareMark(episode.other));
  const sample = episode.sample ? " #" + episode.sample : "";
  item.append(el("span", "muted", episode.id + sample + (episode.type ? " \\u00b7 " + episode.type : "") + " "), el("div", "", episode.question));
  item.dataset.index = String(episode.index);
  item.addEventListener("click", () => {
    state.index = String(episode.index);
    state.step = "";
    showEpisode().catch(showError);
  });
  return item;
}

async function showEpisode() {
  for (const item of byId("list").children) item.classList.toggle("selected", item.dataset.index === state.index);
  writeAddress();
  if (state.index === "") {
    byId("detail").replaceChildren(el("p", "muted", "no episode matches"));
    return;
  }
  const { episode } = await api("/api/episode", { file: state.file, index: state.index });
  const others = state.compare ? (await api("/api/question", { file: state.compare, id: episode.id })).episodes : undefined;
  const longest = Math.max(episode.steps.length, ...(others || []).map((other) => other.steps.length));
  const shown = state.step === "" ? longest : Math.min(Number(state.step), longest);
  const columns = [episodeView(episode, state.file, shown)];
  if (others) columns.push(...(others.length ? others.map((other) => episodeView(other, state.compare, shown)) : [el("p", "episode muted", "not in " + state.compare)]));
  const side = el("div", "", ...columns);
  side.id = "episodes";
  byId("detail").replaceChildren(stepsNav(shown, longest), side);
}

/** The step to show after moving one step back or on; from all steps, on starts at the first. */
function stepAfter(move, longest) {
  if (state.step === "") return String(move > 0 ? 1 : Math.max(1, longest - 1));
  return String(Math.min(longest, Math.max(1, Number(state.step) + move)));
}

function stepsNav(shown, longest) {
  const button = (text, step) => {
    const node = el("button", "", text);
    node.addEventListener("click", () => { state.step = step(); showEpisode().catch(showError); });
    return node;
  };
  const where = state.step === "" ? "all " + longest + " steps" : "step " + shown + " of " + longest;
  const nav = el("div", "", button("\\u25c0 step", () => stepAfter(-1, longest)), el("span", "", where), button("step \\u25b6", () => stepAfter(1, longest)), button("all steps", () => ""));
  nav.id = "steps-nav";
  nav.dataset.longest = String(longest);
  return nav;
}

function episodeView(episode, path, shown) {
  const metrics = episode.metrics;
  const facts = [
    "gold: " + (episode.gold === null ? "\\u2013" : episode.gold),
    "answer: " + (episode.answer === null ? "none (halted)" : episode.answer),
    "reward " + episode.reward.toFixed(2) + ", EM " + metrics.em + ", F1 " + metrics.f1.toFixed(2),
    metrics.steps + " steps, " + metrics.invalid + " invalid",
    episode.meta.policy + (episode.meta.model ? " " + episode.meta.model : ""),
  ];
  const steps = episode.steps.slice(0, shown).map((step, i) => {
    const n = i + 1;
    const item = el("li", "step" + (step.valid ? "" : " invalid") + (state.step !== "" && n === shown ? " current" : ""),
      el("div", "thought", "Thought " + n + ": " + step.thought),
      el("div", "action", "Action " + n + ": " + (step.action || "(none)")),
      el("div", "observation", "Observation " + n + ": " + step.observation));
    item.title = Math.round(step.latencyMs) + " ms" + (step.meanLogprob === undefined ? "" : ", mean logprob " + step.meanLogprob.toFixed(3));
    return item;
  });
  const heading = el("h2", "", outcomeMark(episode.success), path + (episode.sample ? " #" + episode.sample : ""));
  return el("article", "episode", heading, el("div", "muted", episode.id + (episode.type ? " \\u00b7 " + episode.type : "")), el("div", "question", episode.question), el("div", "facts", facts.join(" \\u00b7 ")), el("ol", "steps", ...steps));
}

function onKey(event) {
  if (event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement) return;
  const at = listed.findIndex((episode) => String(episode.index) === state.index);
  const move = { ArrowDown: 1, j: 1, ArrowUp: -1, k: -1 }[event.key];
  if (move && listed[at + move]) {
    state.index = String(listed[at + move].index);
    state.step = "";
    showEpisode().catch(showError);
    event.preventDefault();
  }
  const stepMove = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
  if (stepMove) {
    const steps = byId("steps-nav") ? Number(byId("steps-nav").dataset.longest) : 1;
    state.step = stepAfter(stepMove, steps);
    showEpisode().catch(showError);
    event.preventDefault();
  }
}

start().catch(showError);
</script>
</body>
</html>
`;
