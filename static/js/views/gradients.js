// The vanishing / exploding gradient picture: ‖dL/dH_t‖ and ‖∂H_T/∂H_t‖ per step on a log axis,
// each step's contribution to dW_hh as bars, and the spectral radius of W_hh.

import { COLORS, axis, baseLayout, draw, fmt, placeCursor, range, showEmpty, traceKey } from "./common.js";
import { followWindow, windowRange } from "../time-window.js";

let el = null;
let radiusEl = null;
let drawnKey = "";
// markers drawn at most, and only those inside the x range: a long sequence's window shows a
// few steps, and Plotly would otherwise draw (and move) a marker for every step
const MARKERS = 300;

/** element: the plot; radiusElement: where the spectral radius of W_hh is written. */
export function init(element, radiusElement) {
  el = element;
  radiusEl = radiusElement;
  showEmpty(el, "Run the backward pass to see how the gradient flows back through time.");
}

function positive(values) {
  // a log axis cannot show zeros; they are left as gaps
  return Array.from(values, (v) => (v > 0 ? v : null));
}

/** A dashed vertical mark between t − 1 and t wherever truncated BPTT (every k steps) stops the
 * gradient, the first labelled, so the drop there is not read as a vanishing gradient. */
function cutMarks(T, k) {
  const shapes = [];
  const annotations = [];
  for (let t = k; k && t < T; t += k) {
    shapes.push({
      type: "line", name: "bptt-cut", xref: "x", x0: t - 0.5, x1: t - 0.5, yref: "paper", y0: 0, y1: 1,
      line: { color: COLORS.cursor, width: 1.5, dash: "dashdot" },
    });
  }
  // one label, at the first cut: the marks are alike, and k steps apart leave no room for more
  if (shapes.length) {
    annotations.push({
      name: "bptt-cut", xref: "x", x: k - 0.5, xanchor: "right", yref: "paper", y: 1, yanchor: "top",
      text: `BPTT cut every ${k} steps`, textangle: -90, showarrow: false, font: { size: 12, color: COLORS.soft },
    });
  }
  return { shapes, annotations };
}

function radiusText(trace, layer) {
  const radius = trace.spectral[layer];
  if (!radius) return "";
  const parts = Object.entries(radius).map(([name, value]) => (name === "W_hh" ? `ρ(W_hh) = ${fmt(value)}` : `ρ(W_h${name}) = ${fmt(value, 2)}`));
  return parts.join("  ");
}

/** The key, in the card's header (a Plotly legend would take the plot's room in a narrow card). */
/**
 * How much of a signal at the last step reaches the first: ‖∂H_T/∂H_0‖ when the server computed
 * it, else (a many-to-one model, whose loss is all at the end) ‖dL/dH_0‖ / ‖dL/dH_T−1‖. With
 * outputs at every step dL/dH_0 also holds step 0's own loss, so that ratio would say nothing.
 */
function verdict(trace, L) {
  let ratio;
  let name;
  if (L.jacobian_norms && L.jacobian_norms.length > 1) {
    ratio = L.jacobian_norms[0];
    name = "‖∂H_T/∂H_0‖";
  } else if (!trace.sequence && L.dH_norm.length > 1 && L.dH_norm[L.dH_norm.length - 1] > 0) {
    ratio = L.dH_norm[0] / L.dH_norm[L.dH_norm.length - 1];
    name = "‖dL/dH_0‖ / ‖dL/dH_T−1‖";
  } else return "";
  const word = ratio < 1e-2 ? "the gradient vanishes" : ratio > 1e2 ? "the gradient explodes" : "the gradient holds up";
  return ` · ${name} = ${fmt(ratio, 2)}: ${word} over ${trace.T} steps`;
}

/**
 * One tick per decade where the values span more than one (Plotly's default labels the minor 2s
 * and 5s as well); Plotly's own ticks within a decade, where a tick per decade would show none.
 */
function decadeTicks(values) {
  const logs = values.filter((v) => v > 0 && Number.isFinite(v)).map(Math.log10);
  if (!logs.length) return {};
  return Math.max(...logs) - Math.min(...logs) >= 1.5 ? { dtick: 1 } : {};
}

function legend(radius, jacobian, bars) {
  const item = (className, text) => {
    const span = document.createElement("span");
    span.className = `key ${className}`;
    span.textContent = text;
    return span;
  };
  const items = [item("key-line", "‖dL/dH_t‖")];
  if (jacobian) items.push(item("key-dash", "‖∂H_T/∂H_t‖"));
  if (bars) items.push(item("key-bar", "step t's part of ‖dW_hh‖ (right axis)"));
  const rho = item("key-rho", radius);
  rho.title = "spectral radius: below 1 the gradient tends to vanish back through time, above 1 it can explode";
  radiusEl.replaceChildren(rho, document.createElement("br"), ...items);
}

export function update(state, trace) {
  if (!trace) return;
  if (!trace.hasBackward) {
    const key = `empty|${traceKey(trace)}|${state.layer}`;
    if (key === drawnKey) return;
    const hasTargets = trace.targets !== null && trace.targets !== undefined;
    showEmpty(el, hasTargets
      ? "This model has no backward pass yet: give it targets and run it."
      : "No backward pass: this example has no targets, so there is no loss to differentiate.");
    // the spectral radius of W_hh comes with the forward pass
    radiusEl.replaceChildren(radiusText(trace, Math.min(state.layer, trace.L - 1)));
    drawnKey = key;
    return;
  }
  const key = `${traceKey(trace)}|${state.layer}`;
  if (key === drawnKey) {
    followWindow(el, trace.T);
    placeCursor(el, state.t, trace.T, "backward", { veil: state.phase === "backward" });
    return;
  }
  drawnKey = key;
  const steps = range(trace.T);
  const layer = Math.min(state.layer, trace.L - 1);
  const L = trace.layers[layer];
  // (with one step there is no H_{t−1}: W_hh gets no gradient and there are no bars to show)
  const bars = Boolean(L.step_grad_norms?.W_hh?.some((v) => v > 0));
  legend(radiusText(trace, layer) + verdict(trace, L), Boolean(L.jacobian_norms), bars);
  const data = [];
  if (bars) {
    data.push({
      // bars as one filled step path (see connectivity.js)
      type: "scatter", mode: "lines", x: steps, y: positive(L.step_grad_norms.W_hh), yaxis: "y2", name: "step t's part of ‖dW_hh‖",
      line: { shape: "hvh", color: "rgba(213,94,0,0.5)", width: 1 }, fill: "tozeroy", fillcolor: "rgba(213,94,0,0.28)", hovertemplate: "t=%{x}: ‖H<sub>t−1</sub>ᵀ dA<sub>t</sub>‖ = %{y:.3e}<extra></extra>",
    });
  }
  data.push({
    type: "scatter", mode: "lines+markers", x: steps, y: positive(L.dH_norm), name: "‖dL/dH_t‖",
    line: { color: COLORS.W_xh, width: 2 }, marker: { size: 3, maxdisplayed: MARKERS }, hovertemplate: "t=%{x}: ‖dL/dH<sub>t</sub>‖ = %{y:.3e}<extra></extra>",
  });
  if (L.jacobian_norms) {
    data.push({
      type: "scatter", mode: "lines", x: steps, y: positive(L.jacobian_norms), name: "‖∂H_T/∂H_t‖",
      line: { color: COLORS.ink, width: 1.5, dash: "dash" }, hovertemplate: "t=%{x}: ‖∂H<sub>T</sub>/∂H<sub>t</sub>‖ = %{y:.3e}<extra></extra>",
    });
  }
  const left = [...L.dH_norm, ...(L.jacobian_norms ?? [])];
  draw(el, data, baseLayout({
    margin: { l: 48, r: 52, t: 8, b: 32 },
    xaxis: axis("timestep t", { range: windowRange(trace.T) }),
    yaxis: axis("norm (log)", { type: "log", exponentformat: "power", ...decadeTicks(left) }),
    ...(bars ? { yaxis2: axis("dW_hh part (log)", { type: "log", overlaying: "y", side: "right", showgrid: false, exponentformat: "power", ...decadeTicks(L.step_grad_norms.W_hh) }) } : {}),
    ...cutMarks(trace.T, trace.truncate),
  }));
  placeCursor(el, state.t, trace.T, "backward", { veil: state.phase === "backward" });
}
