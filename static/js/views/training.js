// The training dashboard: optimiser settings and session buttons, live loss and metric curves
// (extended in place as metric frames arrive), the gradient-norm history, and the task's own
// results: bits with the carry for binary addition, prediction against truth otherwise.

/* global Plotly */
import { COLORS, axis, baseLayout, draw, fmt, range, traceKey } from "./common.js";

let root = null;
let lossEl = null;
let gradEl = null;
let resultsEl = null;
let nowEl = null;
let statusEl = null;
let buttons = {};
let inputs = {};
let metricNames = [];
let drawnKey = "";
let handlers = {};

const SKIP = new Set(["type", "v", "session", "step", "loss", "grad_norm", "dH_norm", "status", "time", "elapsed"]);

function labelled(labelText, control) {
  const wrap = document.createElement("div");
  const label = document.createElement("label");
  label.htmlFor = control.id;
  label.textContent = labelText;
  wrap.append(label, control);
  return wrap;
}

function input(id, type, attrs) {
  const e = document.createElement(type === "select" ? "select" : "input");
  e.id = id;
  if (type !== "select") e.type = type;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

/** handlers: {start(trainingConfig), control(action)} */
export function init(element, callbacks) {
  root = element;
  handlers = callbacks;
  const layout = document.createElement("div");
  layout.className = "train-layout";
  const controls = document.createElement("div");
  controls.className = "train-controls";
  inputs.optimizer = input("optimizer", "select", {});
  for (const name of ["sgd", "momentum", "adam", "rmsprop", "adagrad"]) {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = name;
    inputs.optimizer.append(option);
  }
  inputs.lr = input("lr", "number", { min: "0.00001", max: "10", step: "any" });
  inputs.steps = input("train-steps", "number", { min: "1", max: "100000", step: "1" });
  inputs.batch_size = input("batch-size", "number", { min: "1", max: "1024", step: "1" });
  inputs.clip = input("clip", "number", { min: "0", step: "any", placeholder: "off" });
  const row1 = document.createElement("div");
  row1.className = "row";
  row1.append(labelled("Optimiser", inputs.optimizer), labelled("Learning rate", inputs.lr));
  const row2 = document.createElement("div");
  row2.className = "row";
  row2.append(labelled("Steps", inputs.steps), labelled("Batch size", inputs.batch_size));
  const row3 = document.createElement("div");
  row3.className = "row";
  row3.append(labelled("Clip ‖g‖ at", inputs.clip));
  const buttonRow = document.createElement("div");
  buttonRow.className = "button-row";
  for (const [name, text] of [["start", "Train"], ["pause", "Pause"], ["step", "Step"], ["resume", "Resume"], ["stop", "Stop"]]) {
    const b = document.createElement("button");
    b.type = "button";
    b.id = `train-${name}`;
    b.textContent = text;
    if (name === "start") b.className = "primary";
    b.disabled = name !== "start";
    buttonRow.append(b);
    buttons[name] = b;
  }
  buttons.start.addEventListener("click", () => handlers.start(readConfig()));
  buttons.step.title = "One optimiser update on one batch, then pause: watch the weights move";
  for (const action of ["pause", "step", "resume", "stop"]) buttons[action].addEventListener("click", () => handlers.control(action));
  nowEl = document.createElement("p");
  nowEl.className = "metrics-now";
  nowEl.id = "train-now";
  nowEl.textContent = "Not trained yet.";
  statusEl = document.createElement("p");
  statusEl.className = "metrics-now";
  statusEl.id = "train-status";
  statusEl.setAttribute("role", "status");
  controls.append(row1, row2, row3, buttonRow, statusEl, nowEl);
  lossEl = document.createElement("div");
  lossEl.className = "plot";
  lossEl.id = "view-loss";
  gradEl = document.createElement("div");
  gradEl.className = "plot";
  gradEl.id = "view-grad-history";
  resultsEl = document.createElement("div");
  resultsEl.id = "view-task-results";
  resultsEl.className = "span-3";
  const resultsTitle = document.createElement("h3");
  resultsTitle.textContent = "Task results on the current sample";
  resultsTitle.className = "card-subtitle";
  layout.append(controls, lossEl, gradEl);
  root.replaceChildren(layout, resultsTitle, resultsEl);
  reset();
}

function readConfig() {
  const number = (e) => (e.value === "" ? undefined : Number(e.value));
  return {
    optimizer: inputs.optimizer.value,
    lr: number(inputs.lr),
    steps: number(inputs.steps),
    batch_size: number(inputs.batch_size),
    clip: number(inputs.clip) || undefined,
  };
}

/** Shows the training settings of the state (task defaults or the URL's). */
export function setConfig(training) {
  inputs.optimizer.value = training.optimizer;
  inputs.lr.value = String(training.lr);
  inputs.steps.value = String(training.steps);
  inputs.batch_size.value = String(training.batch_size ?? 16);
  inputs.clip.value = training.clip ? String(training.clip) : "";
}

export function setRunning(status) {
  const running = status === "running";
  const paused = status === "paused";
  buttons.start.disabled = running || paused;
  buttons.pause.disabled = !running;
  buttons.resume.disabled = !paused;
  buttons.step.disabled = !paused;
  buttons.stop.disabled = !(running || paused);
}

/** Empties the curves for a new session. */
export function reset() {
  metricNames = [];
  draw(lossEl, [
    { type: "scatter", mode: "lines", x: [], y: [], name: "loss", line: { color: COLORS.W_hh, width: 2 } },
  ], baseLayout({
    showlegend: true, legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 0, font: { size: 10 } },
    margin: { l: 48, r: 44, t: 36, b: 32 },
    xaxis: axis("training step"), yaxis: axis("loss", { type: "log", exponentformat: "power" }),
    yaxis2: axis("metric", { overlaying: "y", side: "right", showgrid: false, rangemode: "tozero" }),
  }));
  draw(gradEl, [
    { type: "scatter", mode: "lines", x: [], y: [], name: "‖∇θ L‖", line: { color: COLORS.W_xh, width: 2 } },
    { type: "scatter", mode: "lines", x: [], y: [], name: "latest ‖dL/dH_t‖ over t", xaxis: "x2", line: { color: COLORS.soft, width: 1.2, dash: "dot" } },
  ], baseLayout({
    showlegend: true, legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 0, font: { size: 10 } },
    margin: { l: 48, r: 12, t: 36, b: 32 },
    xaxis: axis("training step"), yaxis: axis("gradient norm", { type: "log", exponentformat: "power" }),
    xaxis2: axis("", { overlaying: "x", side: "top", showgrid: false, showticklabels: false }),
  }));
}

/** Appends one metrics frame to the curves (extendTraces: no re-plot). */
export function addMetrics(frame) {
  const extra = Object.keys(frame).filter((k) => !SKIP.has(k) && typeof frame[k] === "number");
  for (const name of extra) {
    if (!metricNames.includes(name)) {
      metricNames.push(name);
      Plotly.addTraces(lossEl, {
        type: "scatter", mode: "lines", x: [], y: [], name, yaxis: "y2",
        line: { color: COLORS.series[(metricNames.length + 1) % COLORS.series.length], width: 1.5 },
      });
    }
  }
  const xs = [];
  const ys = [];
  const indices = [];
  if (typeof frame.loss === "number") {
    xs.push([frame.step]);
    ys.push([frame.loss]);
    indices.push(0);
  }
  metricNames.forEach((name, k) => {
    if (typeof frame[name] === "number") {
      xs.push([frame.step]);
      ys.push([frame[name]]);
      indices.push(k + 1);
    }
  });
  if (indices.length) Plotly.extendTraces(lossEl, { x: xs, y: ys }, indices);
  if (typeof frame.grad_norm === "number") Plotly.extendTraces(gradEl, { x: [[frame.step]], y: [[frame.grad_norm]] }, [0]);
  if (Array.isArray(frame.dH_norm)) Plotly.restyle(gradEl, { x: [range(frame.dH_norm.length)], y: [frame.dH_norm] }, [1]);
  const parts = [`step ${frame.step}`, `loss ${fmt(frame.loss, 4)}`];
  for (const name of extra) parts.push(`${name} ${fmt(frame[name], 3)}`);
  nowEl.textContent = parts.join(" · ");
}

export function showStatus(text) {
  statusEl.textContent = text;
}

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
    showlegend: true, legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 0, font: { size: 10 } },
    margin: { l: 44, r: 12, t: 36, b: 32 },
    xaxis: axis("timestep t (the prediction is for t = T)"), yaxis: axis("value"),
  }));
}

/** The task results follow the current trace (re-run after training and periodically during it). */
export function update(state, trace) {
  if (!trace) return;
  const key = traceKey(trace);
  if (key === drawnKey) return;
  drawnKey = key;
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
    showlegend: true, legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 0, font: { size: 10 } },
    margin: { l: 44, r: 12, t: 36, b: 32 },
    xaxis: axis("timestep t"), yaxis: axis("value"),
  }));
}
