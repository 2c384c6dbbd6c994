// The training dashboard: the training settings (the server's optimisers, learning-rate
// schedules and limits; weight decay as PyTorch's weight_decay), the
// session's buttons and status, the live loss and metric curves and the gradient-norm history,
// extended in place with each metric record the session has received. One point per record.
// Metrics the task calls fractions (accuracies) share a fixed [0, 1] axis with their chance
// level drawn as a dashed line; every other figure (mse, perplexity, …) shares the loss's log
// axis. The status line says what the session is doing, and why it ended.

/* global Plotly */
import { SCHEDULE_FIELDS } from "../schedules.js";
import { COLORS, axis, baseLayout, draw, fmt, range } from "./common.js";

let lossEl = null;
let gradEl = null;
let nowEl = null;
let statusEl = null;
const buttons = {};
const inputs = {};
const schedule = {}; // the schedule's select and its two numbers (their meaning follows the select)
let metricNames = [];
let metricInfo = {}; // the session's metric descriptions (range, chance level) from the server
let layerCurves = 0; // how many per-layer ‖dW_xh‖ curves the gradient plot has (traces 2, 3, …)
let drawnSession = null; // the session id the curves show
let drawnRecords = 0; // how many of its records they show
let builtChoices = null;
let intents = {};

// Record fields that are not curves of their own (the loss has its own trace).
const SKIP = new Set(["step", "loss", "grad_norm", "dH_norm", "layer_grad_norms"]);
const ACTIONS = [["start", "Train"], ["pause", "Pause"], ["step", "Step"], ["resume", "Resume"], ["stop", "Stop"]];

function element(tag, attrs = {}, text = undefined) {
  const e = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) e.setAttribute(name, value);
  if (text !== undefined) e.textContent = text;
  return e;
}

function labelled(labelText, control) {
  const wrap = element("div");
  wrap.append(element("label", { for: control.id }, labelText), control);
  return wrap;
}

function row(...children) {
  const div = element("div", { class: "row" });
  div.append(...children);
  return div;
}

/** intents: {change(settings)} as a setting changes, start() and control(action) for the buttons. */
export function init(root, callbacks) {
  intents = callbacks;
  inputs.optimizer = element("select", { id: "optimizer" });
  inputs.lr = element("input", { id: "lr", type: "number", min: "0", step: "any" });
  inputs.steps = element("input", { id: "train-steps", type: "number", min: "1", step: "1" });
  inputs.batch_size = element("input", { id: "batch-size", type: "number", min: "1", step: "1" });
  inputs.clip = element("input", { id: "clip", type: "number", min: "0", step: "any", placeholder: "off" });
  inputs.truncate = element("input", { id: "truncate", type: "number", min: "1", step: "1", placeholder: "full" });
  inputs.weight_decay = element("input", { id: "weight-decay", type: "number", min: "0", max: "1", step: "any", placeholder: "default" });
  inputs.weight_decay.title = "PyTorch's weight_decay λ: L2 added to the gradient (AdamW: decoupled, default 0.01)";
  schedule.name = element("select", { id: "schedule" });
  schedule.period = element("input", { id: "schedule-period", type: "number", min: "1", step: "1" });
  schedule.factor = element("input", { id: "schedule-factor", type: "number", min: "0", step: "any" });
  schedule.periodLabel = element("label", { for: "schedule-period" });
  schedule.factorLabel = element("label", { for: "schedule-factor" });
  for (const input of [...Object.values(inputs), schedule.name, schedule.period, schedule.factor]) {
    input.addEventListener("input", () => intents.change(readSettings()));
    input.addEventListener("change", () => intents.change(readSettings()));
  }
  const buttonRow = element("div", { class: "button-row" });
  for (const [action, text] of ACTIONS) {
    const button = element("button", { type: "button", id: `train-${action}` }, text);
    if (action === "start") button.className = "primary";
    button.disabled = action !== "start";
    button.addEventListener("click", () => (action === "start" ? intents.start() : intents.control(action)));
    buttonRow.append(button);
    buttons[action] = button;
  }
  buttons.step.title = "One optimiser update on one batch, then pause: watch the weights move";
  statusEl = element("p", { class: "metrics-now", id: "train-status", role: "status" });
  nowEl = element("p", { class: "metrics-now", id: "train-now" }, "Not trained yet.");
  const controls = element("div", { class: "train-controls" });
  controls.append(
    row(labelled("Optimiser", inputs.optimizer), labelled("Learning rate", inputs.lr)),
    row(labelled("Steps", inputs.steps), labelled("Batch size", inputs.batch_size)),
    row(labelled("Clip ‖g‖ at", inputs.clip), labelled("BPTT length k", inputs.truncate)),
    row(labelled("Weight decay", inputs.weight_decay), labelled("LR schedule", schedule.name)),
    scheduleRow(),
    buttonRow, statusEl, nowEl,
  );
  lossEl = element("div", { class: "plot", id: "view-loss" });
  gradEl = element("div", { class: "plot", id: "view-grad-history" });
  const layout = element("div", { class: "train-layout" });
  layout.append(controls, lossEl, gradEl);
  root.replaceChildren(layout);
  resetCurves();
}

function scheduleRow() {
  schedule.row = row(element("div"), element("div"));
  schedule.row.children[0].append(schedule.periodLabel, schedule.period);
  schedule.row.children[1].append(schedule.factorLabel, schedule.factor);
  return schedule.row;
}

// Each schedule's two fields as the form shows them: [label, placeholder] for period and factor.
const SCHEDULE_LABELS = {
  step: [["Every (updates)", "100"], ["multiply by γ", "0.1"]],
  cosine: [["T_max (updates)", "the steps"], ["down to η_min", "0"]],
};

const number = (input) => (input.value === "" || !Number.isFinite(Number(input.value)) ? undefined : Number(input.value));

/** The schedule of the form ({name, step_size, gamma} / {name, t_max, eta_min}) or null. */
function readSchedule() {
  const fields = SCHEDULE_FIELDS[schedule.name.value];
  if (!fields) return undefined; // a constant rate
  const fallback = fields.period === "t_max" ? number(inputs.steps) ?? 1000 : 100;
  const body = { name: schedule.name.value, [fields.period]: number(schedule.period) ?? fallback };
  const factor = number(schedule.factor);
  if (factor !== undefined) body[fields.factor] = factor;
  return body;
}

function showSchedule(value) {
  const fields = SCHEDULE_FIELDS[value?.name ?? ""];
  schedule.row.hidden = !fields;
  if (schedule.name !== document.activeElement) schedule.name.value = value?.name ?? "";
  if (!fields) return;
  const { period: periodName, factor: factorName } = fields;
  const [[periodLabel, periodHint], [factorLabel, factorHint]] = SCHEDULE_LABELS[value.name];
  schedule.periodLabel.textContent = periodLabel;
  schedule.factorLabel.textContent = factorLabel;
  schedule.period.placeholder = periodHint;
  schedule.factor.placeholder = factorHint;
  for (const [input, name] of [[schedule.period, periodName], [schedule.factor, factorName]]) {
    if (input !== document.activeElement) input.value = value[name] === undefined ? "" : String(value[name]);
  }
}

/** The settings of the form; an empty or unreadable number is left to the task's default. */
function readSettings() {
  return {
    optimizer: inputs.optimizer.value,
    lr: number(inputs.lr),
    steps: number(inputs.steps),
    batch_size: number(inputs.batch_size),
    clip: number(inputs.clip) || null, // 0 or empty: no clipping asked for
    truncate: number(inputs.truncate) || null, // empty: the full backward pass
    weight_decay: number(inputs.weight_decay), // empty: the optimiser's PyTorch default
    schedule: readSchedule(), // undefined: a constant rate
  };
}

function buildChoices({ choices }) {
  inputs.optimizer.replaceChildren(...choices.training.optimizer.map((name) => element("option", { value: name }, name)));
  const torchNames = { step: "PyTorch's StepLR", cosine: "PyTorch's CosineAnnealingLR" };
  schedule.name.replaceChildren(
    element("option", { value: "", title: "the same rate at every update" }, "constant"),
    ...choices.training.schedule.map((name) => element("option", { value: name, title: torchNames[name] ?? name }, name)),
  );
  inputs.steps.max = String(choices.limits.max_training_steps);
  inputs.batch_size.max = String(choices.limits.max_batch);
  inputs.truncate.max = String(choices.limits.max_steps);
}

function showSettings(training) {
  for (const [name, input] of Object.entries(inputs)) {
    if (input === document.activeElement) continue;
    const value = training[name];
    input.value = value === undefined || value === null ? "" : String(value);
  }
  showSchedule(training.schedule);
}

/** The description of metric `name` ("train_accuracy" is described as "accuracy"), or null. */
function infoOf(name) {
  return metricInfo[name] ?? metricInfo[name.replace(/^train_/, "")] ?? null;
}

const isFraction = (name) => Array.isArray(infoOf(name)?.range);

/** A dashed line at each chance level of the fractions on show, labelled with its value. */
function chanceMarks() {
  const levels = new Map();
  for (const name of metricNames) {
    const chance = infoOf(name)?.chance;
    if (!isFraction(name) || typeof chance !== "number") continue;
    const base = name.replace(/^train_/, "");
    const names = levels.get(chance) ?? [];
    if (!names.includes(base)) levels.set(chance, [...names, base]);
  }
  const several = levels.size > 1;
  const shapes = [];
  const annotations = [];
  for (const [chance, names] of levels) {
    shapes.push({
      type: "line", name: "chance", xref: "paper", x0: 0, x1: 1, yref: "y2", y0: chance, y1: chance,
      line: { color: COLORS.soft, width: 1.2, dash: "dash" },
    });
    annotations.push({
      name: "chance", xref: "paper", x: 0.01, xanchor: "left", yref: "y2", y: chance, yanchor: "bottom",
      text: `chance ${Number(chance.toPrecision(3))}${several ? ` (${names.join(", ")})` : ""}`,
      showarrow: false, font: { size: 12, color: COLORS.soft },
    });
  }
  Plotly.relayout(lossEl, { shapes, annotations });
}

const MARKERS = { size: 5 };

// Log axes label their ticks as 1e-3, 2e-3, 5e-3…: a tick format keeps the 2s and 5s at the
// axis' own size (Plotly shrinks its own minor labels to 9 px).
function resetCurves() {
  clearTimeout(gradientTimer);
  gradientTimer = 0;
  gradientRecords = [];
  metricNames = [];
  layerCurves = 0;
  draw(lossEl, [
    { type: "scatter", mode: "lines+markers", x: [], y: [], name: "loss", line: { color: COLORS.W_hh, width: 2 }, marker: MARKERS },
  ], baseLayout({
    showlegend: true, legend: { orientation: "h", y: -0.18, yanchor: "top", x: 0, font: { size: 12 } },
    margin: { l: 56, r: 56, t: 8, b: 32 },
    xaxis: axis("training step"), yaxis: axis("loss (log)", { type: "log", tickformat: ".0e" }),
    yaxis2: axis("accuracy (0–1)", { overlaying: "y", side: "right", showgrid: false, range: [0, 1], fixedrange: true, dtick: 0.25 }),
  }));
  draw(gradEl, [
    { type: "scatter", mode: "lines", x: [], y: [], name: "‖∇θ L‖", line: { color: COLORS.W_xh, width: 2 } },
    { type: "scatter", mode: "lines", x: [], y: [], name: "latest ‖dL/dH_t‖ over t", xaxis: "x2", line: { color: COLORS.soft, width: 1.2, dash: "dot" } },
  ], baseLayout({
    showlegend: true, legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 0, font: { size: 12 } },
    margin: { l: 48, r: 12, t: 36, b: 32 },
    xaxis: axis("training step"), yaxis: axis("gradient norm", { type: "log", tickformat: ".0e" }),
    xaxis2: axis("", { overlaying: "x", side: "top", showgrid: false, showticklabels: false }),
  }));
}

/** ‖dW_xh‖ of each layer over training: how much gradient reaches the first layer (the spiral
 * tutorial's sigmoid against ReLU), one dashed curve per layer, added when the records have it;
 * the points to extend them with. */
function layerNorms(records) {
  const withLayers = records.filter((r) => Array.isArray(r.layer_grad_norms));
  if (withLayers.length === 0) return { x: [], y: [], indices: [] };
  const L = withLayers[0].layer_grad_norms.length;
  for (; layerCurves < L; layerCurves++) {
    Plotly.addTraces(gradEl, {
      type: "scatter", mode: "lines", x: [], y: [], name: `‖dW_xh‖ layer ${layerCurves + 1}`,
      line: { color: COLORS.series[(layerCurves + 2) % COLORS.series.length], width: 1.4, dash: "dash" },
    });
  }
  const layers = range(L);
  return {
    x: layers.map(() => withLayers.map((r) => r.step)),
    y: layers.map((k) => withLayers.map((r) => r.layer_grad_norms[k])),
    indices: layers.map((k) => k + 2),
  };
}

// "Keep every point" for extendTraces' maxPoints (which takes a number for each trace).
const ALL_POINTS = Number.MAX_SAFE_INTEGER;

/** One extendTraces (one redraw of the chart) for the gradient norm, every layer's curve and
 * the latest report's ‖dL/dH_t‖ over t, whose T points replace the previous report's (kept: the
 * last T). */
function extendGradients(records, latest) {
  const x = [];
  const y = [];
  const indices = [];
  const kept = [];
  const norms = records.filter((r) => typeof r.grad_norm === "number");
  if (norms.length) {
    x.push(norms.map((r) => r.step));
    y.push(norms.map((r) => r.grad_norm));
    indices.push(0);
    kept.push(ALL_POINTS);
  }
  if (Array.isArray(latest.dH_norm)) {
    x.push(range(latest.dH_norm.length));
    y.push(latest.dH_norm);
    indices.push(1);
    kept.push(latest.dH_norm.length);
  }
  const layers = layerNorms(records);
  x.push(...layers.x);
  y.push(...layers.y);
  indices.push(...layers.indices);
  kept.push(...layers.indices.map(() => ALL_POINTS));
  if (indices.length) Plotly.extendTraces(gradEl, { x, y }, indices, { x: kept, y: kept });
}

// The gradient chart is redrawn in a task of its own, after the loss chart's: each redraw of a
// chart is a few tens of milliseconds, and the page answers a click between the two.
let gradientRecords = [];
let gradientTimer = 0;

function queueGradients(records) {
  gradientRecords.push(...records);
  if (gradientTimer) return;
  gradientTimer = setTimeout(() => {
    gradientTimer = 0;
    const queued = gradientRecords;
    gradientRecords = [];
    if (queued.length) extendGradients(queued, queued[queued.length - 1]);
  }, 0);
}

/** Appends metric records to the curves (extendTraces: one redraw a chart, no re-plot); the
 * gradient chart's in the next task. */
function addRecords(records) {
  const extra = [...new Set(records.flatMap((r) => Object.keys(r).filter((k) => !SKIP.has(k) && typeof r[k] === "number")))];
  let added = false;
  for (const name of extra) {
    if (metricNames.includes(name)) continue;
    added = true;
    metricNames.push(name);
    const fraction = isFraction(name);
    Plotly.addTraces(lossEl, {
      type: "scatter", mode: "lines+markers", x: [], y: [], name, yaxis: fraction ? "y2" : "y",
      line: { color: COLORS.series[(metricNames.length + 1) % COLORS.series.length], width: 1.5, dash: fraction ? "solid" : "dot" },
      marker: MARKERS,
    });
  }
  if (added) chanceMarks();
  const curves = [["loss", 0], ...metricNames.map((name, k) => [name, k + 1])];
  const xs = [];
  const ys = [];
  const indices = [];
  for (const [name, index] of curves) {
    const points = records.filter((r) => typeof r[name] === "number");
    if (points.length === 0) continue;
    xs.push(points.map((r) => r.step));
    ys.push(points.map((r) => r[name]));
    indices.push(index);
  }
  if (indices.length) Plotly.extendTraces(lossEl, { x: xs, y: ys }, indices);
  const latest = records[records.length - 1];
  queueGradients(records);
  const parts = [`step ${latest.step}`, `loss ${fmt(latest.loss, 4)}`];
  for (const name of metricNames) if (typeof latest[name] === "number") parts.push(`${name} ${fmt(latest[name], 3)}`);
  nowEl.textContent = parts.join(" · ");
}

/** What the session is doing, in words (the reason is the server's). */
function statusText(session) {
  const of = `step ${session.step} of ${session.steps}`;
  switch (session.status) {
    case "starting": return "Starting…";
    case "running": return session.step === 0 ? `Starting: ${of}…` : `Training: ${of}…`;
    case "paused": return `Paused at ${of}.`;
    case "early_stopped": return `Stopped early because ${session.reason ?? "its early-stop target was reached"}.`;
    case "finished": return `Finished all ${session.steps} steps.`;
    case "stopped": return `Stopped by request at ${of}.`;
    case "failed": return `Failed: ${session.error ?? session.reason ?? "see the message above"}`;
    case "interrupted": return `Interrupted at ${of}: ${session.reason ?? "its worker ended"}.`;
    default: return `Training ${session.status.replace("_", " ")}.`;
  }
}

function showSession(session) {
  const status = session?.status;
  const running = status === "running";
  const paused = status === "paused";
  buttons.start.disabled = running || paused || status === "starting";
  buttons.pause.disabled = !running;
  buttons.resume.disabled = !paused;
  buttons.step.disabled = !paused;
  buttons.stop.disabled = !(running || paused);
  statusEl.textContent = session ? statusText(session) : "";
  if (!session) return;
  if (session.id !== drawnSession) {
    metricInfo = session.metrics ?? {};
    resetCurves();
    nowEl.textContent = "Training…";
    drawnSession = session.id;
    drawnRecords = 0;
  }
  if (session.records.length > drawnRecords) {
    addRecords(session.records.slice(drawnRecords));
    drawnRecords = session.records.length;
  }
}

/** Keys: catalogue, training, session. */
export function update(state) {
  if (state.catalogue && state.catalogue !== builtChoices) {
    buildChoices(state.catalogue);
    builtChoices = state.catalogue;
  }
  showSettings(state.training);
  showSession(state.session);
}
