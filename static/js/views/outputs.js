// Outputs against targets: lines over time for regression, the predicted distribution per step
// (classes × time, with the target class marked) for classification, and a bar chart when the
// model only answers at the last step. A sample without targets (a shapes-only preset's
// example) shows the outputs alone.

import { COLORS, SEQUENTIAL, axis, baseLayout, draw, hideCursor, placeCursor, range, showEmpty, transpose, traceKey } from "./common.js";
import { realOnly } from "../trace.js";
import { followWindow, windowRange } from "../time-window.js";

let el = null;
let drawnKey = "";
// markers drawn at most, and only those inside the x range (the window of a long sequence)
const MARKERS = 300;

export function init(element) {
  el = element;
  showEmpty(el, "Outputs O_t and the targets appear here.");
}

function classTargets(trace) {
  // cross-entropy targets are class indices (T_out,); one-hot rows are accepted too
  const rows = trace.sequence ? trace.targets : [trace.targets];
  return rows.map((row) => (Array.isArray(row) ? row.indexOf(Math.max(...row)) : row));
}

function labels(trace) {
  const vocab = trace.meta.vocab;
  if (vocab && vocab.length === trace.Q) return vocab.map((c) => (c === " " ? "␣" : c === "\n" ? "⏎" : c));
  return range(trace.Q).map(String);
}

export function update(state, trace) {
  if (!trace) return;
  const key = traceKey(trace);
  if (key === drawnKey) {
    if (trace.sequence) {
      followWindow(el, trace.T);
      placeCursor(el, state.t, trace.T, "forward", { veil: state.phase === "forward" });
    }
    return;
  }
  drawnKey = key;
  const classification = trace.config.head === "softmax";
  const hasTargets = trace.targets !== null && trace.targets !== undefined;
  if (!trace.sequence) {
    const x = classification ? labels(trace) : range(trace.Q).map((q) => `O[${q}]`);
    const data = [{ type: "bar", x, y: trace.outputs[0], name: "output", marker: { color: COLORS.W_hq } }];
    if (hasTargets) {
      const target = trace.targets;
      const targetRow = classification ? x.map((_, q) => (q === target ? 1 : 0)) : Array.isArray(target) ? target : [target];
      data.push({ type: "scatter", mode: "markers", x, y: targetRow, name: "target", marker: { symbol: "line-ew-open", size: 18, color: COLORS.ink, line: { width: 2 } } });
    }
    draw(el, data, baseLayout({
      showlegend: true, legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 0, font: { size: 12 } },
      margin: { l: 44, r: 12, t: 30, b: 32 },
      xaxis: axis("output at the last step"), yaxis: axis(""),
    }));
    hideCursor(el);
    return;
  }
  const steps = range(trace.T);
  if (classification) {
    const data = [{
      type: "heatmap", z: transpose(trace.outputs).map((row) => realOnly(trace, row)), x: steps, y: labels(trace), zmin: 0, zmax: 1,
      colorscale: SEQUENTIAL,
      colorbar: { thickness: 10, len: 0.9, tickfont: { size: 12 }, outlinewidth: 0, title: { text: "p(class)", side: "right", font: { size: 12 } } },
      hovertemplate: "t=%{x}: p(%{y}) = %{z:.3f}<extra></extra>",
    }];
    if (hasTargets) {
      data.push({
        type: "scatter", mode: "markers", x: steps, y: classTargets(trace).map((k) => labels(trace)[k]), name: "target",
        marker: { symbol: "circle-open", size: 7, color: "#ffffff", line: { width: 1.5 }, maxdisplayed: MARKERS }, hovertemplate: "target at t=%{x}: %{y}<extra></extra>",
      });
    }
    draw(el, data, baseLayout({
      xaxis: axis("timestep t", { showgrid: false, range: windowRange(trace.T) }),
      yaxis: axis("class", { showgrid: false, type: "category", tickfont: { size: 12 } }),
    }));
    placeCursor(el, state.t, trace.T, "forward", { veil: state.phase === "forward" });
    return;
  }
  const data = [];
  // bits and other whole-number targets are drawn as points on their levels, not joined by lines
  const discrete = hasTargets && trace.targets.flat(Infinity).every(Number.isInteger);
  for (let q = 0; q < Math.min(trace.Q, 4); q++) {
    if (hasTargets) {
      data.push({
        type: "scatter", mode: discrete ? "markers" : "lines", x: steps, y: trace.targets.map((row) => (Array.isArray(row) ? row[q] : row)),
        name: trace.Q > 1 ? `target ${q}` : "target", line: { color: COLORS.target, width: 1.5, dash: "dot" },
        marker: { symbol: "square-open", size: 8, color: COLORS.target, line: { width: 1.5 }, maxdisplayed: MARKERS },
      });
    }
    data.push({
      type: "scatter", mode: "lines+markers", x: steps, y: realOnly(trace, trace.outputs.map((row) => row[q])),
      name: trace.Q > 1 ? `output ${q}` : "output", line: { color: COLORS.series[(q * 2 + 2) % 7], width: 2 }, marker: { size: 4, maxdisplayed: MARKERS },
    });
  }
  draw(el, data, baseLayout({
    showlegend: true, legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 0, font: { size: 12 } },
    margin: { l: 44, r: 12, t: 36, b: 32 },
    xaxis: axis("timestep t", { range: windowRange(trace.T) }), yaxis: axis(trace.config.head === "sigmoid" ? "probability" : "value"),
  }));
  placeCursor(el, state.t, trace.T, "forward", { veil: state.phase === "forward" });
}
