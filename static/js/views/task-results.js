// The task's own results on the sample on show: the bits with the carry for binary addition,
// the prediction against the truth for a regression, the loss otherwise; without targets (a
// shapes-only preset) there are none, and it says so.

import { COLORS, axis, baseLayout, draw, fmt, range, traceKey } from "./common.js";

let resultsEl = null;
let drawnKey = "";

function bitsTable(trace) {
  const table = document.createElement("table");
  table.className = "bits";
  const caption = document.createElement("caption");
  caption.textContent = "Binary addition, least significant bit first (t = 0 is the rightmost column of the written sum)";
  caption.className = "check";
  table.append(caption);
  const T = trace.T;
  const inputs = trace.inputs;
  const target = trace.targets.map((row) => (Array.isArray(row) ? row[0] : row));
  const predicted = trace.outputs.map((row) => (row[0] >= 0.5 ? 1 : 0));
  const carry = [];
  let c = 0;
  for (let t = 0; t < T; t++) {
    carry.push(c);
    c = (inputs[t][0] + inputs[t][1] + c) >= 2 ? 1 : 0;
  }
  const order = range(T).reverse();
  const rows = [
    ["carry in", carry],
    ["a", inputs.map((r) => r[0])],
    ["b", inputs.map((r) => r[1])],
    ["a + b", target],
    ["predicted", predicted],
  ];
  const head = document.createElement("tr");
  head.append(document.createElement("td"));
  for (const t of order) {
    const th = document.createElement("th");
    th.textContent = `t${t}`;
    head.append(th);
  }
  table.append(head);
  for (const [name, values] of rows) {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = name;
    tr.append(th);
    for (const t of order) {
      const td = document.createElement("td");
      td.textContent = String(values[t]);
      if (values[t] === 1) td.classList.add("one");
      if (name === "predicted" && values[t] !== target[t]) td.classList.add("wrong");
      tr.append(td);
    }
    table.append(tr);
  }
  const correct = predicted.every((v, t) => v === target[t]);
  const verdict = document.createElement("p");
  verdict.className = "metrics-now";
  verdict.textContent = correct ? "✓ every bit right" : `✗ ${predicted.filter((v, t) => v !== target[t]).length} bit(s) wrong`;
  return [table, verdict];
}

/** Many-to-one regression (the sine's next value): the window read, then truth and prediction. */
function drawPrediction(plot, trace) {
  const T = trace.T;
  const truth = Array.isArray(trace.targets) ? trace.targets[0] : trace.targets;
  const predicted = trace.outputs[0][0];
  const marker = (symbol, colour) => ({ symbol, size: 12, color: colour, line: { color: COLORS.ink, width: 1 } });
  draw(plot, [
    { type: "scatter", mode: "lines+markers", x: range(T), y: trace.inputs.map((r) => r[0]), name: "input window x_t", line: { color: COLORS.W_xh, width: 1.5 }, marker: { size: 3 } },
    { type: "scatter", mode: "markers", x: [T], y: [truth], name: `truth ${fmt(truth, 3)}`, marker: marker("circle-open", COLORS.ink) },
    { type: "scatter", mode: "markers", x: [T], y: [predicted], name: `prediction ${fmt(predicted, 3)}`, marker: marker("diamond", COLORS.W_hq) },
  ], baseLayout({
    showlegend: true, legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 0, font: { size: 12 } },
    margin: { l: 44, r: 12, t: 36, b: 32 },
    xaxis: axis("timestep t (the prediction is for t = T)"), yaxis: axis("value"),
  }));
}

export function init(element) {
  resultsEl = element;
}

/** The task results follow the trace on show (refreshed while the model trains). */
export function update(state, trace) {
  if (!trace) return;
  const key = traceKey(trace);
  if (key === drawnKey) return;
  drawnKey = key;
  if (trace.targets === null || trace.targets === undefined) {
    const p = document.createElement("p");
    p.className = "check";
    p.textContent = "No task and no targets on show (a shapes-only preset): nothing to score and nothing to train on. Pick a task or one of its presets to train.";
    resultsEl.replaceChildren(p);
    return;
  }
  const name = (trace.task || "").toLowerCase();
  if ((name.includes("add") || name.includes("binary")) && trace.D === 2 && trace.sequence) {
    resultsEl.replaceChildren(...bitsTable(trace));
    return;
  }
  if (!trace.sequence && trace.config.head === "identity" && trace.D === 1) {
    const plot = document.createElement("div");
    plot.className = "plot";
    resultsEl.replaceChildren(plot);
    drawPrediction(plot, trace);
    return;
  }
  if (trace.config.head === "softmax" || !trace.sequence) {
    const p = document.createElement("p");
    p.className = "check";
    p.textContent = `Loss on the current sample: ${fmt(trace.loss, 4)}. The Explore tab's outputs view shows the per-step predictions.`;
    resultsEl.replaceChildren(p);
    return;
  }
  const plot = document.createElement("div");
  plot.className = "plot";
  resultsEl.replaceChildren(plot);
  const steps = range(trace.T);
  draw(plot, [
    { type: "scatter", mode: "lines", x: steps, y: trace.targets.map((r) => (Array.isArray(r) ? r[0] : r)), name: "truth", line: { color: COLORS.ink, dash: "dot", width: 1.5 } },
    { type: "scatter", mode: "lines+markers", x: steps, y: trace.outputs.map((r) => r[0]), name: "prediction", line: { color: COLORS.W_hq, width: 2 }, marker: { size: 4 } },
  ], baseLayout({
    showlegend: true, legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 0, font: { size: 12 } },
    margin: { l: 44, r: 12, t: 36, b: 32 },
    xaxis: axis("timestep t"), yaxis: axis("value"),
  }));
}
