// Drawing: after each change the views of the visible tab that read a changed key update from
// the store. Each update is measured (performance measures "render" and "view:<name>"), which
// the page benchmark reads. While playing or while a session trains, a change updates only the
// views on screen (a refreshed trace one view per task): the others are brought up to date when
// they scroll into view, the play stops or the session ends.

/* global Plotly */
import { state, subscribe } from "./state.js";
import * as cell from "./views/cell.js";
import * as compare from "./views/compare.js";
import * as connectivity from "./views/connectivity.js";
import * as decision from "./views/decision.js";
import * as equation from "./views/equation.js";
import * as gates from "./views/gates.js";
import * as gradients from "./views/gradients.js";
import * as heatmap from "./views/heatmap.js";
import * as outputs from "./views/outputs.js";
import * as taskResults from "./views/task-results.js";
import * as text from "./views/text.js";
import * as training from "./views/training.js";
import * as unrolled from "./views/unrolled.js";
import * as weights from "./views/weights.js";

const $ = (id) => document.getElementById(id);

const offScreen = new Set(); // names of the Explore views whose card is out of the viewport
const stale = new Set(); // views a change skipped while playing or training
let current = null; // the state, for the catch-up of a view scrolled into sight

// Per tab, its panel: the views in it and the state keys they read (the trace is given to each as well).
const PANELS = {
  explore: {
    views: { unrolled, connectivity, heatmap, outputs, gradients, equation, cell, gates, weights, text, decision },
    keys: ["t", "phase", "unit", "layer", "weight", "trace", "sampled", "decision", "task", "lessonStep", "lessonText", "typesetter", "connectivity", "check", "litWeight"],
  },
  train: { views: { training, taskResults }, keys: ["catalogue", "training", "session", "trace"] },
  compare: { views: { compare }, keys: ["catalogue", "compare", "comparison", "t"] },
};

/**
 * Gives the views their elements. intents: {pickStep(t), pickCell(t, unit), sampleText(temperature,
 * count, prompt, topK), training: {change, start, control}, compare: {change, run}}.
 */
export function init(intents) {
  unrolled.init($("view-unrolled"), $("view-overview"), intents.pickStep, intents.lightWeight);
  connectivity.init($("view-connectivity"), $("connectivity-reach"));
  heatmap.init($("view-heatmap"), intents.pickCell);
  outputs.init($("view-outputs"));
  gradients.init($("view-gradients"), $("gradient-radius"));
  equation.init($("view-equation"));
  cell.init($("view-cell"));
  gates.init($("view-gates"));
  weights.init($("view-weights"));
  text.init($("view-text"), { pickStep: intents.pickStep, sample: intents.sampleText });
  decision.init($("view-decision"));
  training.init($("view-training"), intents.training);
  taskResults.init($("view-task-results"));
  compare.init($("view-compare"), intents.compare);
  watchScreen();
  subscribe(draw);
  let resizeTimer = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => draw(state, ["resize"]), 150);
  });
  draw(state, ["tab"]);
}

/** Keeps `offScreen` the names of the Explore views whose card lies outside the viewport. */
function watchScreen() {
  if (typeof IntersectionObserver === "undefined") return;
  const names = new Map();
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      const name = names.get(entry.target);
      if (entry.isIntersecting) offScreen.delete(name);
      else offScreen.add(name);
      // scrolled into sight after a played step skipped it: drawn now
      if (entry.isIntersecting && stale.has(name) && current) catchUp([name]);
    }
  });
  for (const name of Object.keys(PANELS.explore.views)) {
    const card = $(`view-${name}`)?.closest("article");
    if (!card) continue;
    names.set(card, name);
    observer.observe(card);
  }
}

/** Updates the views named (all measured as one "render"). */
function update(names) {
  const views = PANELS[current.tab].views;
  performance.mark("render-start");
  for (const name of names) {
    const start = performance.now();
    views[name].update(current, current.trace);
    performance.measure(`view:${name}`, { start, end: performance.now() });
  }
  performance.mark("render-end");
  performance.measure("render", "render-start", "render-end");
}

/** The stale views among `names` of the Explore tab on show, updated. */
function catchUp(names) {
  const due = names.filter((name) => stale.has(name));
  for (const name of due) stale.delete(name);
  if (due.length && current.tab === "explore") update(due);
}

function draw(state, changed) {
  current = state;
  const panel = PANELS[current.tab];
  const shown = changed.includes("tab") || changed.includes("resize");
  if (changed.includes("tab")) {
    // plots drawn while their panel was hidden have no size yet
    for (const plot of $(`panel-${current.tab}`).querySelectorAll(".js-plotly-plot")) Plotly.Plots.resize(plot);
  }
  const explore = current.tab === "explore";
  const running = current.session?.status === "running";
  if (shown || changed.some((key) => panel.keys.includes(key))) {
    const names = Object.keys(panel.views);
    // while playing or training only the views on screen draw; the others wait (stale)
    const partial = explore && !shown && (current.playing || running);
    const drawn = partial ? names.filter((name) => !offScreen.has(name)) : names;
    if (!partial) stale.clear();
    for (const name of names) if (!drawn.includes(name)) stale.add(name);
    // the trace of the weights a running session has just changed: one view per task
    if (running && changed.includes("trace") && !shown) updateLater(drawn);
    else {
      pending = [];
      update(drawn);
    }
  } else if (explore && changed.includes("playing")) {
    // the charts go to the span of the play (those on screen; the others wait) and back to the
    // diagram's window when it stops, when the views a played step skipped catch up
    const names = Object.keys(panel.views);
    const drawn = current.playing ? names.filter((name) => !offScreen.has(name)) : names;
    stale.clear();
    for (const name of names) if (!drawn.includes(name)) stale.add(name);
    update(drawn);
  } else if (explore && stale.size && !current.playing && !running) {
    // the session has ended: the views that waited draw its last trace
    catchUp(Object.keys(panel.views));
  }
  // for the tests: the trace with this id is on show (once every view due has drawn it)
  if (changed.includes("trace") && current.trace && !pending.length) document.body.dataset.traceReady = String(current.trace.id);
}

let pending = []; // the views still to draw a session's refreshed trace, one per task
let draining = 0;

/**
 * Draws the views named one per task (a refreshed trace while a session trains): the page
 * answers a click between two views instead of after all of them. A newer change replaces the
 * list; the names go out of it as they draw.
 */
function updateLater(names) {
  pending = [...names];
  if (!draining) draining = setTimeout(drain, 0);
}

function drain() {
  draining = 0;
  const name = pending.shift();
  if (name && !PANELS[current.tab].views[name]) pending = []; // another tab is on show now
  else if (name) update([name]);
  if (pending.length) draining = setTimeout(drain, 0);
  else if (name && current.trace) document.body.dataset.traceReady = String(current.trace.id);
}
