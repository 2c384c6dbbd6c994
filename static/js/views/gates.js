// LSTM / GRU gates and the LSTM cell state of the selected unit over time, each kind on its own
// axis (σ gates on [0, 1], the candidate on [−1, 1], C unbounded), and on the backward pass their
// gradients. For the vanilla RNN: the nonlinearity φ with this step's (A_t, H_t) of the unit on it.

/* global Plotly */

import { COLORS, axis, baseLayout, draw, hideCursor, placeCursor, range, showEmpty, traceKey } from "./common.js";
import { realOnly } from "../trace.js";
import { followWindow, windowRange } from "../time-window.js";
import { cellStep } from "../cell-step.js";

let el = null;
let drawnKey = "";

const PHI = {
  tanh: Math.tanh,
  sigmoid: (a) => 1 / (1 + Math.exp(-a)),
  relu: (a) => Math.max(0, a),
  identity: (a) => a,
};
const GATE_LABEL = { i: "input i", f: "forget f", g: "candidate g", o: "output o", C: "cell C", r: "reset r", z: "update z", n: "new n" };

export function init(element) {
  el = element;
  showEmpty(el, "LSTM and GRU gates, or the RNN's nonlinearity, appear here.");
}

/** This step's (A_t, H_t) as a DOM dot over the plot: moving it costs no Plotly call. */
function placeMarker(element, a, h) {
  const layout = element._fullLayout;
  if (!layout?.xaxis?.l2p) return;
  let dot = element.querySelector(":scope > .step-marker");
  if (!dot) {
    dot = document.createElement("div");
    dot.className = "step-marker";
    dot.setAttribute("aria-hidden", "true");
    element.append(dot);
  }
  const x = layout.xaxis._offset + layout.xaxis.l2p(a);
  const y = layout.yaxis._offset + layout.yaxis.l2p(h);
  dot.style.transform = `translate(${x - 7}px, ${y - 7}px)`;
}

function phiFigure(state, trace) {
  const layer = trace.layers[state.layer];
  const j = Math.min(state.unit, trace.H - 1);
  const a = layer.A.map((row) => row[j]);
  const h = layer.H.map((row) => row[j]);
  const limit = Math.max(4, ...a.map(Math.abs)) * 1.05;
  const xs = Array.from({ length: 121 }, (_, k) => -limit + (2 * limit * k) / 120);
  const phi = PHI[trace.config.nonlinearity] || Math.tanh;
  return {
    data: [
      { type: "scatter", mode: "lines", x: xs, y: xs.map(phi), line: { color: COLORS.soft, width: 1.5 }, hoverinfo: "skip", name: "φ" },
      { type: "scatter", mode: "markers", x: a, y: h, marker: { color: "rgba(0,114,178,0.35)", size: 5 }, name: "all steps", hovertemplate: "A=%{x:.3f} → H=%{y:.3f}<extra></extra>" },
    ],
    layout: baseLayout({
      xaxis: axis(`A_t[${j}] (pre-activation)`), yaxis: axis(`H_t[${j}] = ${trace.config.nonlinearity}(A)`),
      annotations: [{ xref: "paper", yref: "paper", x: 0.02, y: 0.98, xanchor: "left", showarrow: false, font: { size: 12, color: COLORS.soft }, text: "flat ends of φ = saturated unit = vanishing gradient" }],
    }),
  };
}

/** Which panel each series goes on: σ gates on [0, 1], the candidate on [−1, 1], C on its own. */
const PANEL = { i: "y", f: "y", o: "y", r: "y", z: "y", g: "y2", n: "y2", C: "y3" };

function gatesFigure(state, trace, backward) {
  const layer = trace.layers[state.layer];
  const j = Math.min(state.unit, trace.H - 1);
  const names = Object.keys(layer.gates); // the gates, and the LSTM's cell state C
  const steps = range(trace.T);
  const grads = backward ? steps.map((t) => cellStep(trace, state.layer, t, j).backward) : null;
  const series = (name) => realOnly(trace, backward ? grads.map((d) => d[name === "C" ? "dC" : `d${name}`] ?? null) : layer.gates[name].map((row) => row[j]));
  const label = (name) => (backward ? `dL/d${name}` : GATE_LABEL[name]);
  const data = names.map((name, k) => ({
    type: "scatter", mode: "lines", x: steps, y: series(name), name: label(name), yaxis: PANEL[name],
    line: { color: COLORS.series[k % COLORS.series.length], width: name === "C" ? 2.5 : 1.6, dash: name === "C" ? "dot" : "solid" },
    hovertemplate: `${label(name)} at t=%{x}: %{y:.3g}<extra></extra>`,
  }));
  const candidate = trace.cell === "lstm" ? "g" : "n";
  const withC = names.includes("C");
  // top to bottom: the σ gates, the candidate, and for the LSTM the cell state
  const domains = withC ? [[0.7, 1], [0.36, 0.63], [0, 0.29]] : [[0.5, 1], [0, 0.42]];
  const panel = (title, domain, fixed) => axis(title, { domain, ...(fixed && !backward ? { range: fixed } : {}) });
  const layout = {
    showlegend: true, legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 0, font: { size: 12 } },
    margin: { l: 54, r: 12, t: 36, b: 32 },
    xaxis: axis("timestep t", { anchor: withC ? "y3" : "y2", range: windowRange(trace.T) }),
    yaxis: panel(backward ? "dL/d σ gates" : "σ gates", domains[0], [0, 1]),
    yaxis2: panel(backward ? `dL/d${candidate}` : `${candidate} (tanh)`, domains[1], [-1, 1]),
  };
  if (withC) layout.yaxis3 = panel(backward ? "dL/dC_t" : "C_t", domains[2], undefined);
  return { data, layout: baseLayout(layout) };
}

export function update(state, trace) {
  if (!trace) return;
  const gated = trace.gateNames.length > 0;
  const backward = gated && state.phase === "backward" && trace.hasBackward;
  const key = `${traceKey(trace)}|${state.layer}|${state.unit}|${backward}`;
  if (key === drawnKey) {
    if (gated) {
      followWindow(el, trace.T);
      placeCursor(el, state.t, trace.T, backward ? "backward" : "forward", { veil: true });
    } else {
      const layer = trace.layers[state.layer];
      const j = Math.min(state.unit, trace.H - 1);
      placeMarker(el, layer.A[state.t][j], layer.H[state.t][j]);
    }
    return;
  }
  drawnKey = key;
  if (!trace.layers[state.layer]) {
    showEmpty(el, "No such layer.");
    return;
  }
  const { data, layout } = gated ? gatesFigure(state, trace, backward) : phiFigure(state, trace);
  // the gated cells' stacked panels need room: about 100 px each beside the legend
  const height = !gated ? "" : trace.cell === "lstm" ? "400px" : "320px";
  const resized = el.style.height !== height;
  el.style.height = height;
  draw(el, data, layout).then(() => resized && Plotly.Plots.resize(el));
  el.querySelector(":scope > .step-marker")?.toggleAttribute("hidden", gated);
  if (gated) placeCursor(el, state.t, trace.T, backward ? "backward" : "forward", { veil: true });
  else {
    hideCursor(el);
    const layer = trace.layers[state.layer];
    const j = Math.min(state.unit, trace.H - 1);
    placeMarker(el, layer.A[state.t][j], layer.H[state.t][j]);
  }
}
