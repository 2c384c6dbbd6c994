// Two configurations side by side on the same input: their hidden states and, on one log axis,
// how their gradients fade or grow back through time (sigmoid vs tanh vs ReLU, RNN vs LSTM,
// uniform(0,1) vs orthogonal initialisation). The menus hold the server's choices.

import { COLORS, DIVERGING, axis, baseLayout, draw, fmt, maxAbs, placeCursor, range, transpose } from "./common.js";
import { appliesTo } from "../selection.js";

const FIELDS = ["cell", "nonlinearity", "init"]; // what a side of the comparison chooses
const SIDE_COLOUR = { a: COLORS.text.W_hh, b: COLORS.text.W_xh };

let root = null;
const plots = {};
const selects = {};
let summaryEl = null;
let drawnPair = null;
let builtChoices = null;
let intents = {};

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
    configs.append(box);
  }
  const button = document.createElement("button");
  button.type = "button";
  button.className = "primary";
  button.id = "compare-run";
  button.textContent = "Compare on the current input";
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
  root.replaceChildren(configs, button, summaryEl, heat, plots.grad);
}

function read(side) {
  const config = {};
  for (const [field, select] of Object.entries(selects[side])) config[field] = select.value;
  return config;
}

function buildChoices(modelChoices) {
  for (const side of ["a", "b"]) {
    for (const [field, select] of Object.entries(selects[side])) {
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
      select.value = compare[side][field];
      select.disabled = !appliesTo(field, compare[side].cell, choices);
    }
  }
}

function label(trace) {
  const c = trace.config;
  return c.cell === "rnn" ? `rnn · ${c.nonlinearity} · ${c.init}` : `${c.cell} · ${c.init}`;
}

export function update(state) {
  if (state.catalogue && state.catalogue !== builtChoices) {
    buildChoices(state.catalogue.choices.model);
    builtChoices = state.catalogue;
  }
  if (state.catalogue) showConfigs(state.compare, state.catalogue.choices);
  const pair = state.comparison;
  if (!pair) {
    summaryEl.textContent = "Pick two configurations and compare them on the task's current sample.";
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
      colorscale: DIVERGING, showscale: side === "b", colorbar: { thickness: 8, len: 0.9, tickfont: { size: 12 }, outlinewidth: 0 },
      hovertemplate: "H<sub>t=%{x}</sub>[%{y}] = %{z:.4f}<extra></extra>",
    }], baseLayout({
      margin: { l: 44, r: 12, t: 22, b: 32 },
      xaxis: axis("timestep t", { showgrid: false }), yaxis: axis("hidden unit", { showgrid: false, autorange: "reversed" }),
      annotations: [{ xref: "paper", yref: "paper", x: 0, y: 1.02, xanchor: "left", yanchor: "bottom", showarrow: false, text: `${side.toUpperCase()}: ${label(trace)}`, font: { size: 12, color: SIDE_COLOUR[side] } }],
    }));
    placeCursor(plots[side], t, trace.T, "forward");
  }
  const data = ["a", "b"].map((side) => ({
    type: "scatter", mode: "lines+markers", x: range(pair[side].T), y: pair[side].layers[0].dH_norm.map((v) => (v > 0 ? v : null)),
    name: `${side.toUpperCase()}: ${label(pair[side])}`, line: { color: SIDE_COLOUR[side], width: 2 }, marker: { size: 3 },
  }));
  draw(plots.grad, data, baseLayout({
    showlegend: true, legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 0, font: { size: 12 } },
    margin: { l: 52, r: 12, t: 36, b: 32 },
    xaxis: axis("timestep t"), yaxis: axis("‖dL/dH_t‖ (log)", { type: "log", exponentformat: "power" }),
  }));
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
