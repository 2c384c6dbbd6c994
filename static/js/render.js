// Drawing: after each change the views of the visible tab that read a changed key update from
// the store. Each update is measured (performance measures "render" and "view:<name>"), which
// the page benchmark reads.

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
  subscribe(draw);
  let resizeTimer = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => draw(state, ["resize"]), 150);
  });
  draw(state, ["tab"]);
}

function draw(current, changed) {
  const panel = PANELS[current.tab];
  const shown = changed.includes("tab") || changed.includes("resize");
  if (changed.includes("tab")) {
    // plots drawn while their panel was hidden have no size yet
    for (const plot of $(`panel-${current.tab}`).querySelectorAll(".js-plotly-plot")) Plotly.Plots.resize(plot);
  }
  if (shown || changed.some((key) => panel.keys.includes(key))) {
    performance.mark("render-start");
    for (const [name, view] of Object.entries(panel.views)) {
      const start = performance.now();
      view.update(current, current.trace);
      performance.measure(`view:${name}`, { start, end: performance.now() });
    }
    performance.mark("render-end");
    performance.measure("render", "render-start", "render-end");
  }
  // for the tests: the trace with this id is on show
  if (changed.includes("trace") && current.trace) document.body.dataset.traceReady = String(current.trace.id);
}
