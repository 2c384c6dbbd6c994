// Two configurations trained on the same data, side by side: their loss curves on one log axis,
// their outputs on the sample against its targets, their hidden states and how their gradients
// fade or grow back through time (sigmoid vs tanh vs ReLU, RNN vs LSTM, uniform(0,1) vs
// orthogonal initialisation, a size, a seed), with a sentence read off the numbers. A gradient
// norm that underflowed to 0 is drawn at the log axis's floor with its own marker, not dropped.
// The menus hold the server's choices.

import { COLORS, DIVERGING, axis, baseLayout, draw, fmt, maxAbs, placeCursor, range, transpose } from "./common.js";
import { appliesTo } from "../selection.js";
import { interpret, outputSeries, underflowed } from "./compare-reading.js";

const FIELDS = ["cell", "nonlinearity", "init"]; // what a side of the comparison chooses
// the numeric knobs, empty: the model on show's value
const NUMBERS = [["hidden_size", "hidden size", 1], ["num_layers", "layers", 1], ["seed", "seed", 0], ["forget_bias", "forget bias (lstm)", null]];
const SIDE_COLOUR = { a: COLORS.text.W_hh, b: COLORS.text.W_xh };

let root = null;
const plots = {};
const selects = {};
let summaryEl = null;
let verdictEl = null;
let drawnPair = null;
let builtChoices = null;
let intents = {};
let runButton = null; // disabled while A and B train

/** intents: {change(side, config)} when a menu changes, run() for the button. */
export function init(element, callbacks) {
  root = element;
  intents = callbacks;
  const configs = document.createElement("div");
  configs.className = "compare-layout";
  for (const side of ["a", "b"]) {
    const box = document.createElement("div");
    box.className = "compare-config";
    const h = document.createElement("h3");
    h.textContent = side === "a" ? "Configuration A" : "Configuration B";
    h.style.color = SIDE_COLOUR[side];
    box.append(h);
    selects[side] = {};
    for (const field of FIELDS) {
      const wrap = document.createElement("div");
      const label = document.createElement("label");
      label.htmlFor = `cmp-${side}-${field}`;
      label.textContent = field === "nonlinearity" ? "φ (rnn)" : field;
      const select = document.createElement("select");
      select.id = `cmp-${side}-${field}`;
      select.addEventListener("change", () => intents.change(side, read(side)));
      wrap.append(label, select);
      box.append(wrap);
      selects[side][field] = select;
    }
    for (const [field, text, min] of NUMBERS) {
      const wrap = document.createElement("div");
      const label = document.createElement("label");
      label.htmlFor = `cmp-${side}-${field}`;
      label.textContent = text;
      const input = document.createElement("input");
      input.type = "number";
      input.id = `cmp-${side}-${field}`;
      input.step = field === "forget_bias" ? "any" : "1";
      if (min !== null) input.min = String(min);
      input.placeholder = "as on show";
      input.addEventListener("change", () => intents.change(side, read(side)));
      wrap.append(label, input);
      box.append(wrap);
      selects[side][field] = input;
    }
    configs.append(box);
  }
  const button = document.createElement("button");
  runButton = button;
  button.type = "button";
  button.className = "primary";
  button.id = "compare-run";
  button.textContent = "Train both and compare";
  button.addEventListener("click", () => intents.run());
  summaryEl = document.createElement("p");
  summaryEl.className = "compare-loss";
  summaryEl.setAttribute("aria-live", "polite");
  const heat = document.createElement("div");
  heat.className = "compare-layout";
  plots.a = document.createElement("div");
  plots.b = document.createElement("div");
  plots.a.className = plots.b.className = "plot";
  plots.a.id = "compare-a";
  plots.b.id = "compare-b";
  heat.append(plots.a, plots.b);
  plots.grad = document.createElement("div");
  plots.grad.className = "plot";
  plots.grad.id = "compare-gradients";
  verdictEl = document.createElement("p");
  verdictEl.className = "compare-verdict";
  verdictEl.id = "compare-verdict";
  const curves = document.createElement("div");
  curves.className = "compare-layout";
  for (const name of ["loss", "outputs"]) {
    plots[name] = document.createElement("div");
    plots[name].className = "plot";
    plots[name].id = `compare-${name}`;
    curves.append(plots[name]);
  }
  root.replaceChildren(configs, button, summaryEl, verdictEl, curves, plots.grad, heat);
}

function read(side) {
  const config = {};
  for (const field of FIELDS) config[field] = selects[side][field].value;
  for (const [field] of NUMBERS) {
    const text = selects[side][field].value;
    if (text !== "" && Number.isFinite(Number(text))) config[field] = Number(text);
  }
  return config;
}

function buildChoices(modelChoices) {
  for (const side of ["a", "b"]) {
    for (const field of FIELDS) {
      const select = selects[side][field];
      select.replaceChildren(...modelChoices[field].map((value) => {
        const option = document.createElement("option");
        option.value = value;
        option.textContent = value;
        return option;
      }));
    }
  }
}

function showConfigs(compare, choices) {
  for (const side of ["a", "b"]) {
    for (const [field, select] of Object.entries(selects[side])) {
      if (select === document.activeElement) continue;
      const value = compare[side][field];
      select.value = value === undefined || value === null ? "" : String(value);
      select.disabled = !appliesTo(field, compare[side].cell, choices);
    }
  }
}

function label(trace) {
  const c = trace.config;
  const base = c.cell === "rnn" ? `rnn · ${c.nonlinearity} · ${c.init}` : `${c.cell} · ${c.init}`;
  return `${base} · H ${c.hidden_size}${c.num_layers > 1 ? ` × ${c.num_layers}` : ""}`;
}

const sides = ["a", "b"];
const legendTop = { showlegend: true, legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 0, font: { size: 12 } } };

/** Both sessions' loss records on one log axis. */
function drawLosses(training) {
  draw(plots.loss, sides.map((side) => ({
    type: "scatter", mode: "lines+markers", name: `${side.toUpperCase()} loss`,
    x: training[side].records.map((r) => r.step), y: training[side].records.map((r) => r.loss),
    line: { color: SIDE_COLOUR[side], width: 2 }, marker: { size: 4 },
  })), baseLayout({
    ...legendTop, margin: { l: 56, r: 12, t: 36, b: 32 },
    xaxis: axis("training step"), yaxis: axis("loss (log)", { type: "log", tickformat: ".0e" }),
  }));
}

/** The targets and both configurations' outputs on the sample (see outputSeries). */
function drawOutputs(pair) {
  const series = sides.map((side) => outputSeries(pair[side]));
  draw(plots.outputs, [
    { type: "scatter", mode: "lines+markers", name: series[0].truthName, x: series[0].x, y: series[0].truth, line: { color: COLORS.ink, dash: "dot", width: 1.5 }, marker: { size: 4, symbol: "circle-open" } },
    ...sides.map((side, k) => ({
      type: "scatter", mode: "lines+markers", name: `${side.toUpperCase()} ${series[k].name}`, x: series[k].x, y: series[k].y,
      line: { color: SIDE_COLOUR[side], width: 1.5 }, marker: { size: 4 },
    })),
  ], baseLayout({
    ...legendTop, margin: { l: 48, r: 12, t: 36, b: 32 },
    xaxis: axis(series[0].xTitle), yaxis: axis(series[0].yTitle),
  }));
}

/** ‖dL/dH_t‖ of both on a log axis; an underflowed norm (0) sits at the axis floor as a cross. */
function drawGradients(pair) {
  const norms = sides.map((side) => pair[side].layers[0].dH_norm);
  const positives = norms.flat().filter((v) => !underflowed(v));
  const low = positives.length ? Math.min(...positives) : 1e-300;
  const high = positives.length ? Math.max(...positives) : 1;
  const floorExponent = Math.floor(Math.log10(low)) - 1;
  const floor = 10 ** floorExponent;
  const data = [];
  const annotations = [];
  sides.forEach((side, k) => {
    const trace = pair[side];
    data.push({
      type: "scatter", mode: "lines+markers", x: range(trace.T), y: Array.from(norms[k], (v) => (underflowed(v) ? null : v)),
      name: `${side.toUpperCase()}: ${label(trace)}`, line: { color: SIDE_COLOUR[side], width: 2 }, marker: { size: 3 },
    });
    const zeros = range(trace.T).filter((t) => underflowed(norms[k][t]));
    if (zeros.length) {
      data.push({
        type: "scatter", mode: "markers", x: zeros, y: zeros.map(() => floor), name: `${side.toUpperCase()}: underflow (0)`,
        marker: { symbol: "x-thin-open", size: 9, color: SIDE_COLOUR[side], line: { width: 2, color: SIDE_COLOUR[side] } },
        hovertemplate: `${side.toUpperCase()} t=%{x}: ‖dL/dH<sub>t</sub>‖ underflowed to 0<extra></extra>`,
      });
    }
  });
  if (data.some((d) => d.name.endsWith("underflow (0)"))) {
    annotations.push({ xref: "paper", x: 1, xanchor: "right", y: floorExponent, yanchor: "bottom", text: "underflow (0)", showarrow: false, font: { size: 12, color: COLORS.soft } });
  }
  draw(plots.grad, data, baseLayout({
    ...legendTop, margin: { l: 56, r: 12, t: 36, b: 32 }, annotations,
    xaxis: axis("timestep t"),
    yaxis: axis("‖dL/dH_t‖ (log)", { type: "log", tickformat: ".0e", range: [floorExponent - 0.5, Math.log10(high) + 0.5] }),
  }));
}

export function update(state) {
  if (state.catalogue && state.catalogue !== builtChoices) {
    buildChoices(state.catalogue.choices.model);
    builtChoices = state.catalogue;
  }
  if (state.catalogue) showConfigs(state.compare, state.catalogue.choices);
  const pair = state.comparison;
  if (runButton) runButton.disabled = Boolean(pair?.pending);
  if (!pair) {
    summaryEl.textContent = "Pick two configurations: both train on the task's data with the Train tab's settings, then run on its current sample.";
    return;
  }
  if (pair.pending) {
    summaryEl.textContent = pair.pending;
    verdictEl.textContent = "";
    return;
  }
  const t = Math.min(state.t, pair.a.T - 1);
  if (drawnPair === pair) {
    for (const side of ["a", "b"]) placeCursor(plots[side], t, pair[side].T, "forward");
    placeCursor(plots.grad, t, pair.a.T, "backward", { veil: false });
    return;
  }
  drawnPair = pair;
  const m = Math.max(maxAbs(pair.a.layers[0].H), maxAbs(pair.b.layers[0].H));
  for (const side of ["a", "b"]) {
    const trace = pair[side];
    draw(plots[side], [{
      type: "heatmap", z: transpose(trace.layers[0].H), x: range(trace.T), y: range(trace.H), zmin: -m, zmax: m, zmid: 0,
      colorscale: DIVERGING, showscale: side === "b", colorbar: { thickness: 8, len: 0.9, tickfont: { size: 12 }, outlinewidth: 0, title: { text: "H<sub>t</sub>[unit], A and B", side: "right", font: { size: 12 } } },
      hovertemplate: "H<sub>t=%{x}</sub>[%{y}] = %{z:.4f}<extra></extra>",
    }], baseLayout({
      margin: { l: 44, r: 12, t: 22, b: 32 },
      xaxis: axis("timestep t", { showgrid: false }), yaxis: axis("hidden unit", { showgrid: false, autorange: "reversed" }),
      annotations: [{ xref: "paper", yref: "paper", x: 0, y: 1.02, xanchor: "left", yanchor: "bottom", showarrow: false, text: `${side.toUpperCase()}: ${label(trace)}`, font: { size: 12, color: SIDE_COLOUR[side] } }],
    }));
    placeCursor(plots[side], t, trace.T, "forward");
  }
  drawLosses(pair.training);
  drawOutputs(pair);
  drawGradients(pair);
  verdictEl.textContent = interpret(pair);
  placeCursor(plots.grad, t, pair.a.T, "backward", { veil: false });
  const radius = (trace) => Object.entries(trace.spectral[0] || {}).map(([k, v]) => `ρ(${k})=${fmt(v, 2)}`).join(" ");
  // how much of a signal at the last step reaches the first: ‖∂H_T/∂H_0‖ (the server's, when
  // the size made it cheap enough), else the ratio of the loss gradients at both ends
  const reach = (trace) => {
    const L = trace.layers[0];
    if (L.jacobian_norms?.length > 1) return `‖∂H_T/∂H_0‖ = ${fmt(L.jacobian_norms[0], 2)}`;
    const n = L.dH_norm;
    return n[0] > 0 && n[n.length - 1] > 0 ? `‖dL/dH_0‖ / ‖dL/dH_T−1‖ = ${fmt(n[0] / n[n.length - 1], 2)}` : "";
  };
  summaryEl.textContent = `A: loss ${fmt(pair.a.loss, 4)}, ${radius(pair.a)}, ${reach(pair.a)}   ·   B: loss ${fmt(pair.b.loss, 4)}, ${radius(pair.b)}, ${reach(pair.b)}`;
}
