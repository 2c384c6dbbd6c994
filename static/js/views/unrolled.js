// The unrolled network: x_t → H_t → O_t for a window of steps around the cursor, the recurrent
// edges H_{t-1} → H_t, and the three shared matrices labelled identically on every step. An
// overview strip below shows the whole sequence and where the window is.

/* global Plotly */
import { COLORS, DIVERGING, SEQUENTIAL, axis, baseLayout, draw, fmt, norm, showEmpty, traceKey } from "./common.js";
import { outputAt } from "../trace.js";

const STEP_PIXELS = 66; // horizontal room one unrolled step needs to stay readable

let el = null;
let overviewEl = null;
let drawnKey = "";
let windowStart = -1;
let windowSize = 0;
let onPick = () => {};

export function init(element, overviewElement, pick) {
  el = element;
  overviewEl = overviewElement;
  onPick = pick;
  showEmpty(el, "Build & run a model to see the network unrolled in time.");
}

function windowFor(t, T) {
  windowSize = Math.min(T, Math.max(5, Math.floor((el.clientWidth || 800) / STEP_PIXELS)));
  const margin = Math.min(2, Math.floor(windowSize / 4));
  let start = windowStart;
  if (start < 0 || t < start + margin || t > start + windowSize - 1 - margin) {
    start = t - Math.floor(windowSize / 2);
  }
  return Math.max(0, Math.min(start, T - windowSize));
}

function rows(trace) {
  // y of the input row, of each hidden layer, and of the output row
  return { x: 0, h: (layer) => 1 + layer, o: trace.L + 1 };
}

function nodeColours(trace, state, steps) {
  const { layer: selectedLayer, unit, phase } = state;
  const backward = phase === "backward" && trace.hasBackward;
  const hidden = [];
  for (let layer = 0; layer < trace.L; layer++) {
    const L = trace.layers[layer];
    hidden.push(
      steps.map((t) => (backward ? Math.log10(Math.max(L.dH_norm[t], 1e-12)) : L.H[t][layer === selectedLayer ? unit : 0])),
    );
  }
  const inputs = steps.map((t) => (trace.D === 1 ? trace.inputs[t][0] : norm(trace.inputs[t])));
  const outputs = steps.map((t) => {
    if (backward && trace.dO) {
      const row = trace.sequence ? trace.dO[t] : t === trace.T - 1 ? trace.dO[0] : null;
      return row ? Math.log10(Math.max(norm(row), 1e-12)) : null;
    }
    const out = outputAt(trace, t);
    return out ? out[0] : null;
  });
  return { hidden, inputs, outputs, backward };
}

function hoverText(trace, state, steps, layer) {
  const L = trace.layers[layer];
  return steps.map((t) => {
    const lines = [`H<sub>${t}</sub> (layer ${layer + 1}), unit ${state.unit}: ${fmt(L.H[t][state.unit])}`, `‖H<sub>${t}</sub>‖ = ${fmt(norm(L.H[t]))}`];
    if (trace.hasBackward) lines.push(`‖dL/dH<sub>${t}</sub>‖ = ${fmt(L.dH_norm[t])}`);
    return lines.join("<br>");
  });
}

function figure(trace, state, start) {
  const steps = Array.from({ length: windowSize }, (_, k) => start + k);
  const y = rows(trace);
  const colours = nodeColours(trace, state, steps);
  const backward = colours.backward;
  const data = [];
  const edge = (name, colour, xs, ys) => ({
    type: "scatter", mode: "lines", x: xs, y: ys, hoverinfo: "skip", name,
    line: { color: colour, width: 2 },
  });
  // Edges: one trace per shared matrix, segments separated by nulls.
  const xh = { x: [], y: [] };
  const hh = { x: [], y: [] };
  const hq = { x: [], y: [] };
  for (const t of steps) {
    for (let layer = 0; layer < trace.L; layer++) {
      const below = layer === 0 ? y.x : y.h(layer - 1);
      xh.x.push(t, t, null);
      xh.y.push(below + 0.16, y.h(layer) - 0.16, null);
      if (t > start || t > 0) {
        hh.x.push(t - 1 + 0.14, t - 0.14, null);
        hh.y.push(y.h(layer), y.h(layer), null);
      }
    }
    if (outputAt(trace, t)) {
      hq.x.push(t, t, null);
      hq.y.push(y.h(trace.L - 1) + 0.16, y.o - 0.16, null);
    }
  }
  data.push(edge("W_xh", COLORS.W_xh, xh.x, xh.y));
  data.push(edge("W_hh", COLORS.W_hh, hh.x, hh.y));
  data.push(edge("W_hq", COLORS.W_hq, hq.x, hq.y));
  // Arrowheads and the matrix names at the middle of every edge: the same names on every step.
  const up = backward ? "triangle-down" : "triangle-up";
  const right = backward ? "triangle-left" : "triangle-right";
  const label = (name, colour, xs, ys, symbol, position) => ({
    type: "scatter", mode: "markers+text", x: xs, y: ys, text: xs.map(() => name), hoverinfo: "skip",
    textposition: position, textfont: { size: 10, color: colour },
    marker: { symbol, size: 8, color: colour },
  });
  const mids = { xh: [[], []], hh: [[], []], hq: [[], []] };
  for (const t of steps) {
    for (let layer = 0; layer < trace.L; layer++) {
      const below = layer === 0 ? y.x : y.h(layer - 1);
      mids.xh[0].push(t);
      mids.xh[1].push((below + y.h(layer)) / 2);
      if (t > 0) {
        mids.hh[0].push(t - 0.5);
        mids.hh[1].push(y.h(layer));
      }
    }
    if (outputAt(trace, t)) {
      mids.hq[0].push(t);
      mids.hq[1].push((y.h(trace.L - 1) + y.o) / 2);
    }
  }
  data.push(label(trace.L > 1 ? "W_xh*" : "W_xh", COLORS.W_xh, ...mids.xh, up, "middle right"));
  data.push(label("W_hh", COLORS.W_hh, ...mids.hh, right, "top center"));
  data.push(label("W_hq", COLORS.W_hq, ...mids.hq, up, "middle right"));

  const node = (name, xs, ys, colour, scale, cmin, cmax, text, hover, symbol = "circle") => ({
    type: "scatter", mode: "markers+text", x: xs, y: ys, name, text,
    textposition: "bottom center", textfont: { size: 10, color: COLORS.soft },
    hovertext: hover, hoverinfo: hover ? "text" : "skip",
    marker: {
      symbol, size: 26, color: colour, colorscale: scale, cmin, cmax,
      line: { color: "#3b4458", width: 1.2 },
    },
  });
  const xText = steps.map((t) => {
    const vocab = trace.meta.vocab;
    if (vocab && trace.D === vocab.length) {
      const row = trace.inputs[t];
      const c = vocab[row.indexOf(Math.max(...row))];
      return c === " " ? "␣" : c === "\n" ? "⏎" : c;
    }
    return trace.D <= 2 ? trace.inputs[t].map((v) => fmt(v, 2)).join(",") : "";
  });
  const inputRange = trace.D === 1 ? trace.inputs.reduce((m, r) => Math.max(m, Math.abs(r[0])), 1e-9) : 1;
  data.push(node("x", steps, steps.map(() => y.x), colours.inputs, trace.D === 1 ? DIVERGING : "Greys",
    trace.D === 1 ? -inputRange : 0, trace.D === 1 ? inputRange : 2, xText,
    steps.map((t) => `x<sub>${t}</sub> = [${trace.inputs[t].slice(0, 6).map((v) => fmt(v, 2)).join(", ")}${trace.D > 6 ? ", …" : ""}]`), "square"));
  for (let layer = 0; layer < trace.L; layer++) {
    let cmin;
    let cmax;
    let scale;
    if (backward) {
      const logs = trace.layers[layer].dH_norm.map((v) => Math.log10(Math.max(v, 1e-12)));
      cmin = Math.min(...logs);
      cmax = Math.max(...logs, cmin + 1e-9);
      scale = SEQUENTIAL;
    } else {
      const H = trace.layers[layer].H;
      let m = 1e-9;
      for (const row of H) for (const v of row) m = Math.max(m, Math.abs(v));
      cmin = -m;
      cmax = m;
      scale = DIVERGING;
    }
    data.push(node(`h${layer}`, steps, steps.map(() => y.h(layer)), colours.hidden[layer], scale, cmin, cmax,
      null, hoverText(trace, state, steps, layer)));
  }
  const outSteps = steps.filter((t) => outputAt(trace, t));
  const outColours = steps.map((t, k) => colours.outputs[k]).filter((v) => v !== null);
  let outRange = 1e-9;
  for (const row of trace.outputs) outRange = Math.max(outRange, Math.abs(row[0]));
  data.push(node("o", outSteps, outSteps.map(() => y.o), outColours, backward ? SEQUENTIAL : DIVERGING,
    backward ? undefined : -outRange, backward ? undefined : outRange, null,
    outSteps.map((t) => `O<sub>${t}</sub> = [${outputAt(trace, t).slice(0, 5).map((v) => fmt(v)).join(", ")}${trace.Q > 5 ? ", …" : ""}]`), "diamond"));

  const tickvals = [y.x, ...Array.from({ length: trace.L }, (_, l) => y.h(l)), y.o];
  const ticktext = ["x<sub>t</sub>", ...Array.from({ length: trace.L }, (_, l) => (trace.L > 1 ? `H<sub>t</sub><sup>(${l + 1})</sup>` : "H<sub>t</sub>")), "O<sub>t</sub>"];
  const layout = baseLayout({
    margin: { l: 40, r: 8, t: 4, b: 26 },
    xaxis: axis("", {
      range: [start - 0.6, start + windowSize - 0.4], tickmode: "array", tickvals: steps,
      ticktext: steps.map((t) => `t=${t}`), showgrid: false, fixedrange: true,
    }),
    yaxis: axis("", { range: [-0.55, y.o + 0.5], tickvals, ticktext, showgrid: false, fixedrange: true, tickfont: { size: 12, color: COLORS.ink } }),
    shapes: shapes(trace, state, start),
    hovermode: "closest",
  });
  return { data, layout };
}

function shapes(trace, state, start) {
  const t = state.t;
  const y1 = trace.L + 1.5;
  const out = [
    {
      type: "rect", xref: "x", yref: "y", x0: t - 0.42, x1: t + 0.42, y0: -0.5, y1,
      fillcolor: "rgba(230,159,0,0.14)", line: { color: COLORS.cursor, width: 2 }, layer: "below",
    },
  ];
  const [x0, x1] = state.phase === "forward" ? [t + 0.45, start + windowSize] : [start - 1, t - 0.45];
  if (x1 > x0) {
    out.push({
      type: "rect", xref: "x", yref: "y", x0, x1, y0: -0.55, y1: y1 + 0.2,
      fillcolor: "rgba(255,255,255,0.78)", line: { width: 0 }, layer: "above",
    });
  }
  return out;
}

function overview(trace, state) {
  const backward = state.phase === "backward" && trace.hasBackward;
  const L = trace.layers[state.layer] || trace.layers[0];
  const values = backward ? L.dH_norm : L.H.map((row) => row[state.unit]);
  const data = [{
    type: "scatter", mode: "lines", x: values.map((_, t) => t), y: values,
    line: { color: backward ? COLORS.W_hh : COLORS.W_xh, width: 1.4 }, hoverinfo: "x+y",
  }];
  const layout = baseLayout({
    margin: { l: 40, r: 8, t: 2, b: 18 },
    xaxis: axis("", { range: [-0.5, trace.T - 0.5], fixedrange: true, showgrid: false }),
    yaxis: axis("", { type: backward ? "log" : "linear", fixedrange: true, nticks: 3, showgrid: false }),
    shapes: overviewShapes(trace, state),
  });
  return { data, layout };
}

function overviewShapes(trace, state) {
  return [
    {
      type: "rect", xref: "x", yref: "paper", x0: windowStart - 0.5, x1: windowStart + windowSize - 0.5, y0: 0, y1: 1,
      fillcolor: "rgba(31,95,191,0.10)", line: { color: "rgba(31,95,191,0.5)", width: 1 },
    },
    { type: "line", xref: "x", yref: "paper", x0: state.t, x1: state.t, y0: 0, y1: 1, line: { color: COLORS.cursor, width: 2 } },
  ];
}

let drawnSelection = "";

export function update(state, trace) {
  if (!trace) return;
  const key = traceKey(trace);
  const selection = `${state.phase}|${state.unit}|${state.layer}|${el.clientWidth}`;
  const start = windowFor(state.t, trace.T);
  if (key !== drawnKey || selection !== drawnSelection || start !== windowStart) {
    const first = !el.dataset.plotted;
    windowStart = start;
    const { data, layout } = figure(trace, state, start);
    draw(el, data, layout);
    const ov = overview(trace, state);
    draw(overviewEl, ov.data, ov.layout);
    if (first) {
      el.on("plotly_click", (event) => onPick(Math.round(event.points[0].x)));
      overviewEl.on("plotly_click", (event) => onPick(Math.round(event.points[0].x)));
    }
    drawnKey = key;
    drawnSelection = selection;
    return;
  }
  Plotly.relayout(el, { shapes: shapes(trace, state, start) });
  Plotly.relayout(overviewEl, { shapes: overviewShapes(trace, state) });
}
