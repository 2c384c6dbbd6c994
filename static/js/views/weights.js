// One shared weight matrix (W_xh, W_hh or W_hq, in the row-vector layout of the equations) and
// its gradient from the last backward pass, side by side; refreshed as training changes them.

import { COLORS, DIVERGING, axis, baseLayout, draw, maxAbs, showEmpty, traceKey } from "./common.js";
import { matrix } from "../trace.js";

let el = null;
let drawnKey = "";

export function init(element) {
  el = element;
  showEmpty(el, "The weights and their gradients appear here.");
}

/** PyTorch stores (out, in); the equations use (in, out): the transpose, as rows of z. */
function ours(tensorLike) {
  if (!tensorLike) return null;
  const z = [];
  for (let c = 0; c < tensorLike.cols; c++) {
    const row = new Array(tensorLike.rows);
    for (let r = 0; r < tensorLike.rows; r++) row[r] = tensorLike.at(r, c);
    z.push(row);
  }
  return z;
}

function nested(rows) {
  if (!rows) return null;
  const cols = rows[0]?.length ?? 0;
  return { rows: rows.length, cols, at: (r, c) => rows[r][c] };
}

function pytorchName(which, layer) {
  if (which === "W_xh") return `rnn.weight_ih_l${layer}`;
  if (which === "W_hh") return `rnn.weight_hh_l${layer}`;
  return "head.weight";
}

/** The line under the card's title: one matrix for every step; outlined while its arrows are pointed at. */
function sharedNote(state) {
  let note = el.parentElement.querySelector(".shared-note");
  if (!note) {
    note = document.createElement("p");
    note.className = "shared-note";
    el.before(note);
  }
  note.textContent = `The one ${state.weight} used at every step`;
  el.classList.toggle("shared-lit", state.litWeight === state.weight);
  note.classList.toggle("shared-lit", state.litWeight === state.weight);
}

export function update(state, trace) {
  if (!trace) return;
  sharedNote(state);
  const key = `${traceKey(trace)}|${state.weight}|${state.layer}`;
  if (key === drawnKey) return;
  drawnKey = key;
  const name = pytorchName(state.weight, state.layer);
  const W = ours(matrix(trace.weights, name));
  if (!W) {
    showEmpty(el, "The weights could not be loaded from the server.");
    return;
  }
  const dW = trace.grads?.[name] ? ours(nested(trace.grads[name])) : null;
  const G = trace.gateNames.length;
  const colour = COLORS.text[state.weight];
  // each panel's colour bar lies under its own panel (a narrow card has no room beside them)
  const heat = (z, xaxis, yaxis, label, showscale) => {
    const m = maxAbs(z);
    return {
      type: "heatmap", z, xaxis, yaxis, zmin: -m, zmax: m, colorscale: DIVERGING, showscale,
      colorbar: {
        orientation: "h", thickness: 8, len: 0.43, x: xaxis === "x" ? 0.215 : 0.765, xanchor: "center", y: -0.2, yanchor: "top",
        tickfont: { size: 12 }, outlinewidth: 0, nticks: 3, title: { text: label, side: "bottom", font: { size: 12 } },
      },
      hovertemplate: `${label}[%{y}, %{x}] = %{z:.4f}<extra></extra>`,
    };
  };
  const data = [heat(W, "x", "y", state.weight, true)];
  if (dW) data.push(heat(dW, "x2", "y2", `dL/d${state.weight}`, true));
  const blockLines = [];
  if (G > 1 && state.weight !== "W_hq") {
    for (let k = 1; k < G; k++) {
      blockLines.push({ type: "line", xref: "x", yref: "paper", x0: k * trace.H - 0.5, x1: k * trace.H - 0.5, y0: 0, y1: 1, line: { color: COLORS.ink, width: 1, dash: "dot" } });
    }
  }
  const title = (text, x) => ({ text, x, y: 1.0, xref: "paper", yref: "paper", xanchor: "center", yanchor: "bottom", showarrow: false, font: { size: 12, color: colour } });
  const rowsName = state.weight === "W_xh" ? "input" : "hidden unit";
  const shape = `(${W.length}, ${W[0].length})`;
  draw(el, data, baseLayout({
    margin: { l: 40, r: 14, t: 18, b: 92 },
    grid: { rows: 1, columns: 2, pattern: "independent" },
    xaxis: axis(G > 1 && state.weight !== "W_hq" ? trace.gateNames.join(" · ") + " blocks" : "to unit", { domain: [0, 0.43], showgrid: false }),
    yaxis: axis(rowsName, { autorange: "reversed", showgrid: false }),
    xaxis2: axis("to unit", { domain: [0.55, 0.98], showgrid: false }),
    yaxis2: axis("", { autorange: "reversed", showgrid: false, anchor: "x2" }),
    annotations: [title(`${state.weight} ${shape}`, 0.215), title(dW ? `dL/d${state.weight}` : "no gradient yet", 0.765)],
    shapes: blockLines,
  }));
}
