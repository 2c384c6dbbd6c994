// Wires the page: loads the tasks, builds the model and its trace through api.js, and on every
// state change asks each visible view to update. The only module that knows all the others.

import * as api from "./api.js";
import * as controls from "./controls.js";
import { readURL, set, state, subscribe, toQuery } from "./state.js";
import { buildTrace } from "./trace.js";
import * as compare from "./views/compare.js";
import * as equation from "./views/equation.js";
import * as gates from "./views/gates.js";
import * as gradients from "./views/gradients.js";
import * as heatmap from "./views/heatmap.js";
import * as outputs from "./views/outputs.js";
import * as text from "./views/text.js";
import * as training from "./views/training.js";
import * as unrolled from "./views/unrolled.js";
import * as weightsView from "./views/weights.js";

/* global Plotly */
const $ = (id) => document.getElementById(id);
const EXPLORE_VIEWS = { unrolled, heatmap, outputs, gradients, equation, gates, weights: weightsView, text };

let tasks = [];
let presets = [];
let trace = null;
let model = null; // the ModelInfo of the model on show
const createdByPage = new Set(); // models this page made (and may delete when it replaces them)
let sample = null;
let session = null; // {id, stream}
let compareModels = [];
let busy = 0;

/* ---------- messages ---------- */

function showError(error) {
  const box = $("error");
  box.textContent = error instanceof Error ? error.message : String(error);
  box.hidden = false;
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

function status(message) {
  $("status").textContent = message;
}

async function guarded(work) {
  busy += 1;
  controls.setBusy(true);
  try {
    const result = await work();
    clearError();
    return result;
  } catch (error) {
    showError(error);
    if (!(error instanceof api.ApiError)) console.warn(error);
    return undefined;
  } finally {
    busy -= 1;
    controls.setBusy(busy > 0);
  }
}

/* ---------- tasks and samples ---------- */

function currentTask() {
  return tasks.find((task) => task.name === state.task) || tasks[0];
}

/** A single sequence from a task sample: the batch axis (if any) dropped, the vocabulary split. */
function normaliseSample(raw) {
  let { inputs, targets } = raw;
  const meta = { ...(raw.meta || {}) };
  const batched = Array.isArray(inputs[0]?.[0]);
  if (batched) {
    inputs = inputs[0];
    targets = targets[0];
  }
  // meta facts come per sequence (lists of one for a single sample)
  for (const [key, value] of Object.entries(meta)) {
    if (Array.isArray(value) && (batched || value.length === 1)) meta[key] = value[0];
  }
  if (typeof meta.vocabulary === "string") meta.vocab = [...meta.vocabulary];
  return { inputs, targets, meta, config: raw.config || null };
}

async function fetchSample(task) {
  const params = changedParams(task);
  const hasText = Object.values(params).some((v) => typeof v === "string" && v.length > 200);
  const raw = hasText
    ? await api.sampleTaskPost(task.name, state.sampleSeed, params)
    : await api.sampleTask(task.name, state.sampleSeed, params);
  return normaliseSample(raw);
}

const SIZE_FIELDS = ["input_size", "output_size", "output_mode", "head", "loss"];

/** The model config: the task's config for this sample (its sizes), with the form's model fields. */
function configFor(task, data, fields = controls.readModelForm()) {
  const config = { ...task.default_config, ...(data.config || {}), ...fields };
  for (const key of SIZE_FIELDS) if (data.config && key in data.config) config[key] = data.config[key];
  if (config.cell !== "rnn") config.nonlinearity = "tanh";
  if (config.cell !== "lstm") config.forget_bias = 0;
  return config;
}

function sameConfig(a, b) {
  const keys = ["cell", "input_size", "hidden_size", "output_size", "num_layers", "nonlinearity", "head", "loss", "output_mode", "init", "seed"];
  return keys.every((key) => a[key] === b[key]) && (a.forget_bias ?? 0) === (b.forget_bias ?? 0);
}

/* ---------- models and traces ---------- */

async function replaceModel(config) {
  const info = await api.createModel(config, `explorer · ${currentTask().title || currentTask().name}`);
  const previous = model;
  createdByPage.add(info.id);
  model = info;
  if (previous && createdByPage.has(previous.id) && previous.id !== info.id) {
    createdByPage.delete(previous.id);
    api.deleteModel(previous.id).catch(() => {});
  }
  return info;
}

/** Runs forward + backward on the current sample with the current model and shows the trace. */
async function computeTrace() {
  const task = currentTask();
  const config = model.config;
  const [forwardResult, backwardResult, weights] = await Promise.all([
    api.forward(model.id, { inputs: sample.inputs }),
    api.backward(model.id, { inputs: sample.inputs, targets: sample.targets }),
    api.weights(model.id),
  ]);
  trace = buildTrace({ modelId: model.id, config, task: task.name, sample, forward: forwardResult, backward: backwardResult, weights });
  trace.modelName = model.name;
  const T = trace.T;
  const { cell, nonlinearity, hidden_size, num_layers, init, seed } = config;
  const forget_bias = config.forget_bias ?? 0;
  set({
    t: Math.min(state.t, T - 1),
    unit: Math.min(state.unit, trace.H - 1),
    layer: Math.min(state.layer, trace.L - 1),
    config: { cell, nonlinearity, hidden_size, num_layers, init, seed, forget_bias },
  });
  controls.setLayers(trace.L);
  $("unit").max = String(trace.H - 1);
  showSummary();
  render(state, ["trace"]);
  status(`Loss ${trace.loss.toFixed(4)} on sample ${state.sampleSeed} · T = ${T} ${T === 1 ? "step" : "steps"} · forward and backward computed by the server.`);
  document.body.dataset.traceReady = String(trace.id);
}

function showSummary() {
  const c = model.config;
  const cell = c.cell === "rnn" ? `rnn(${c.nonlinearity})` : c.cell;
  const name = model.name ? `${model.name} — ` : "";
  $("model-summary").textContent = `${name}${cell} ${c.input_size}→${c.hidden_size}${c.num_layers > 1 ? `×${c.num_layers}` : ""}→${c.output_size} · ${model.parameter_count} parameters`;
}

/** Build & run: a new sample, a model for the form's config (re-used when unchanged), the trace. */
async function run() {
  await guarded(async () => {
    stopPlaying();
    const task = currentTask();
    set({ sampleSeed: controls.readSampleSeed(), params: changedParams(task), config: controls.readModelForm() });
    status("Sampling the task…");
    sample = await fetchSample(task);
    const config = configFor(task, sample);
    if (!model || !sameConfig(model.config, config)) {
      status("Building the model…");
      await replaceModel(config);
      set({ model: "" });
    }
    status("Running forward and backward…");
    await computeTrace();
  });
}

function changedParams(task) {
  const values = controls.readTaskParams();
  const changed = {};
  for (const [name, value] of Object.entries(values)) {
    if (task.params?.[name]?.default !== value) changed[name] = value;
  }
  return changed;
}

/** Opens a stored model (the URL's `model=`): its config drives the form. */
async function openStoredModel(id) {
  const info = await guarded(() => fetchModel(id));
  if (!info) return false;
  model = info;
  controls.writeModelForm(info.config);
  return true;
}

async function fetchModel(id) {
  try {
    return await api.getModel(id);
  } catch (error) {
    if (error.status === 404) throw new api.ApiError(`The model ${id} of the link is not on this server; building one from the configuration instead.`, 404);
    throw error;
  }
}

async function pickTask(name, { keepForm = false } = {}) {
  const task = tasks.find((t) => t.name === name) || tasks[0];
  set({ task: task.name, sampleSeed: keepForm ? state.sampleSeed : 0 });
  $("task").value = task.name;
  controls.setTaskDescription(task.description);
  controls.setTaskParams(task.params, keepForm ? state.urlParams || {} : {});
  controls.writeSampleSeed(state.sampleSeed);
  if (!keepForm) {
    controls.writeModelForm(task.default_config);
    const trainingDefaults = { ...state.training, ...(task.default_training || {}) };
    set({ training: trainingDefaults });
    training.setConfig(trainingDefaults);
  }
  await run();
}

async function applyPreset(preset) {
  await guarded(async () => {
    const task = tasks.find((t) => t.name === preset.task);
    if (!task) throw new api.ApiError(`The preset ${preset.name} needs the task ${preset.task}, which this server does not have.`);
    set({ task: task.name, sampleSeed: 0 });
    $("task").value = task.name;
    controls.setTaskDescription(preset.description || task.description);
    controls.setTaskParams(task.params, preset.task_params || {});
    controls.writeModelForm({ ...task.default_config, ...(preset.config || preset.model_config || {}) });
    const trainingConfig = { ...state.training, ...(task.default_training || {}), ...(preset.training || {}) };
    set({ training: trainingConfig });
    training.setConfig(trainingConfig);
  });
  await run();
}

/* ---------- weights and downloads ---------- */

async function importWeights(file) {
  await guarded(async () => {
    if (!sample) throw new api.ApiError("Pick a task first: the imported model needs its input and output sizes.");
    const config = configFor(currentTask(), sample);
    status(`Importing ${file.name}…`);
    const info = await api.importWeights(file, config, file.name.replace(/\.safetensors$/, ""));
    const previous = model;
    model = info;
    if (previous && createdByPage.has(previous.id)) {
      createdByPage.delete(previous.id);
      api.deleteModel(previous.id).catch(() => {});
    }
    set({ model: info.id });
    await computeTrace();
    status(`Imported ${file.name} as model ${info.id}; its link opens it again.`);
  });
}

function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function traceJSON() {
  const layers = trace.layers.map((layer) => ({
    H: layer.H, A: layer.A, gates: layer.gates, dH: layer.dH, dA: layer.dA, dH_norm: layer.dH_norm,
    step_grad_norms: layer.step_grad_norms, jacobian_norms: layer.jacobian_norms,
  }));
  return {
    model: { id: trace.modelId, config: trace.config }, task: trace.task, sample_seed: state.sampleSeed,
    inputs: trace.inputs, targets: trace.targets, outputs: trace.outputs, loss: trace.loss,
    grad_norms: trace.grad_norms, spectral_radius: trace.spectral, layers,
  };
}

/** H_t of the selected layer, one row per step, with ‖dL/dH_t‖ when there is a backward pass. */
function traceCSV(current) {
  const layer = current.layers[Math.min(state.layer, current.L - 1)];
  const header = ["t", ...Array.from({ length: current.H }, (_, j) => `H_${j}`)];
  if (layer.dH_norm) header.push("dL_dH_norm");
  const lines = [header.join(",")];
  for (let t = 0; t < current.T; t++) {
    const row = [t, ...layer.H[t]];
    if (layer.dH_norm) row.push(layer.dH_norm[t]);
    lines.push(row.join(","));
  }
  return `${lines.join("\n")}\n`;
}

async function download(kind) {
  await guarded(async () => {
    if (!trace) throw new api.ApiError("Build & run a model first: there is nothing to download yet.");
    const base = `rnn-${trace.task}-${trace.cell}`;
    if (kind === "unrolled") saveBlob(await unrolled.toPNG(), `${base}-unrolled-t${state.t}.png`);
    else if (kind === "weights") saveBlob(await api.weightsBlob(model.id), `${base}.safetensors`);
    else if (kind === "json") saveBlob(new Blob([JSON.stringify(traceJSON())], { type: "application/json" }), `${base}-trace.json`);
    else saveBlob(new Blob([traceCSV(trace)], { type: "text/csv" }), `${base}-hidden.csv`);
  });
}

/* ---------- the WebSocket stream ---------- */

function streamRun() {
  if (!trace) return;
  stopPlaying();
  const expected = trace;
  let frames = 0;
  let worst = 0;
  const compareFrame = (got, want) => {
    for (let j = 0; j < want.length; j++) worst = Math.max(worst, Math.abs(got[j] - want[j]));
  };
  const stream = api.openStream(model.id, {
    start: () => set({ phase: "forward", t: 0 }),
    forward: (frame) => {
      frames += 1;
      compareFrame(frame.H[0], expected.layers[0].H[frame.t]);
      set({ phase: "forward", t: frame.t });
    },
    backward: (frame) => {
      frames += 1;
      if (expected.hasBackward) compareFrame(frame.dH[0], expected.layers[0].dH[frame.t]);
      set({ phase: "backward", t: frame.t });
    },
    summary: (frame) => {
      status(`Streamed ${frames} frames over the WebSocket; loss ${frame.loss.toFixed(4)}; they match the REST trace to ${worst.toExponential(1)}.`);
      stream.close();
    },
    error: (frame) => showError(api.describeDetail(frame.detail)),
  }, (reason) => {
    if (reason) showError(reason);
  });
  status("Streaming from the server…");
  stream.send({
    type: "run", inputs: expected.inputs, targets: sample.targets, rate: Math.min(state.speed, 60),
  });
}

/* ---------- training ---------- */

async function startTraining(settings) {
  await guarded(async () => {
    if (!model) throw new api.ApiError("Build & run a model first.");
    const body = { task: state.task, task_params: changedParams(currentTask()), seed: state.sampleSeed };
    for (const [key, value] of Object.entries(settings)) if (value !== undefined && value !== null && !Number.isNaN(value)) body[key] = value;
    set({ training: { ...state.training, ...settings } });
    if (body.steps && !body.report_every) body.report_every = Math.max(1, Math.round(body.steps / 60));
    const started = await api.startTraining(model.id, body);
    training.reset();
    training.setRunning("running");
    training.showStatus("Training…");
    followSession(started.id ?? started.session);
  });
}

const ENDED = new Set(["stopped", "finished", "early_stopped", "failed", "interrupted"]);
let refreshTimer = 0;
let refreshing = false;

function scheduleRefresh() {
  // the weights change while training: refresh the trace at most twice a second
  if (refreshTimer) return;
  refreshTimer = setTimeout(async () => {
    refreshTimer = 0;
    if (refreshing || !model) return;
    refreshing = true;
    try {
      model = await api.getModel(model.id);
      await computeTrace();
    } catch (error) {
      showError(error);
    } finally {
      refreshing = false;
    }
  }, 500);
}

function followSession(id) {
  session?.stream?.close();
  const stream = api.openStream(model.id, {
    metrics: (frame) => {
      const flat = { step: frame.step, loss: frame.loss, grad_norm: frame.grad_norm, dH_norm: frame.dH_norm };
      for (const [key, value] of Object.entries(frame.metrics || {})) flat[key === "loss" ? "val_loss" : key] = value;
      training.addMetrics(flat);
      scheduleRefresh();
    },
    end: (frame) => {
      training.setRunning(frame.status);
      training.showStatus(`Training ${frame.status.replace("_", " ")}.`);
      stream.close();
      scheduleRefresh();
    },
    error: (frame) => showError(api.describeDetail(frame.detail)),
  }, (reason) => {
    if (reason) showError(reason);
  });
  stream.send({ type: "follow", session: id });
  session = { id, stream };
}

async function controlTraining(action) {
  if (!session) return;
  await guarded(async () => {
    let result = await api.controlTraining(session.id, action);
    // the worker obeys within a moment: wait for it to settle before showing the new state
    const settled = { pause: ["paused"], step: ["paused"], resume: ["running"], stop: ["stopped", "finished"] }[action];
    for (let k = 0; k < 50 && !settled.includes(result.status) && !ENDED.has(result.status); k++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      result = await api.trainingStatus(session.id);
    }
    training.setRunning(result.status);
    if (result.status === "paused") training.showStatus(`Paused at step ${result.step} of ${result.steps}.`);
    scheduleRefresh();
  });
}

/* ---------- compare ---------- */

async function runCompare(a, b) {
  await guarded(async () => {
    if (!sample) throw new api.ApiError("Pick a task first: both configurations run on its current sample.");
    set({ compare: { a, b } });
    const base = configFor(currentTask(), sample);
    const old = compareModels;
    compareModels = [];
    const traces = [];
    for (const side of [a, b]) {
      const config = { ...base, ...side };
      if (config.cell !== "rnn") config.nonlinearity = "tanh";
      if (config.cell !== "lstm") config.forget_bias = 0;
      const info = await api.createModel(config, `compare · ${side.cell} ${side.nonlinearity} ${side.init}`);
      compareModels.push(info.id);
      const body = { inputs: sample.inputs, targets: sample.targets };
      const [forwardResult, backwardResult] = await Promise.all([api.forward(info.id, { inputs: body.inputs }), api.backward(info.id, body)]);
      traces.push(buildTrace({ modelId: info.id, config, task: state.task, sample, forward: forwardResult, backward: backwardResult, weights: null }));
    }
    for (const id of old) api.deleteModel(id).catch(() => {});
    compare.show(traces[0], traces[1]);
    render(state, ["compare"]);
  });
}

/* ---------- text sampling ---------- */

function softmaxSample(logits, temperature) {
  const scaled = logits.map((v) => v / temperature);
  const top = Math.max(...scaled);
  const weights = scaled.map((v) => Math.exp(v - top));
  const total = weights.reduce((s, v) => s + v, 0);
  let r = Math.random() * total;
  for (let k = 0; k < weights.length; k++) {
    r -= weights[k];
    if (r <= 0) return k;
  }
  return weights.length - 1;
}

/** Continues the current text one character at a time from the model's final state. */
async function sampleText(temperature, count) {
  const vocab = trace.meta.vocab;
  let result = await api.forward(model.id, { inputs: trace.inputs });
  let logits = result.logits[result.logits.length - 1];
  let out = "";
  for (let k = 0; k < Math.min(count, 200); k++) {
    const next = softmaxSample(logits, temperature);
    out += vocab[next];
    const oneHot = vocab.map((_, i) => (i === next ? 1 : 0));
    const body = { inputs: [oneHot], h0: result.trace.final_state.h };
    if (result.trace.final_state.c) body.c0 = result.trace.final_state.c;
    result = await api.forward(model.id, body);
    logits = result.logits[result.logits.length - 1];
  }
  return out;
}

/* ---------- drawing ---------- */

function stopPlaying() {
  if (state.playing) set({ playing: false });
}

function render(current, changed) {
  controls.update(current, trace?.T);
  for (const radio of document.querySelectorAll('input[name="phase"]')) {
    if (radio.value === "backward") radio.disabled = !trace?.hasBackward;
  }
  if (changed.includes("tab")) {
    // plots drawn while their panel was hidden have no size yet
    const panel = $(`panel-${current.tab}`);
    for (const plot of panel.querySelectorAll(".js-plotly-plot")) Plotly.Plots.resize(plot);
  }
  if (!trace) return;
  if (changed.length === 1 && (changed[0] === "playing" || changed[0] === "speed")) return;
  performance.mark("render-start");
  if (current.tab === "explore") {
    for (const [name, view] of Object.entries(EXPLORE_VIEWS)) {
      const start = performance.now();
      view.update(current, trace);
      performance.measure(`view:${name}`, { start, end: performance.now() });
    }
  }
  else if (current.tab === "train") training.update(current, trace);
  else compare.update(current);
  performance.mark("render-end");
  performance.measure("render", "render-start", "render-end");
}

/* ---------- start-up ---------- */

async function loadTasks() {
  tasks = await api.listTasks();
  try {
    presets = await api.listPresets();
  } catch {
    presets = []; // the tasks alone are enough to explore
  }
  controls.setTasks(tasks, presets, state.task || tasks[0].name);
}

async function start() {
  readURL();
  controls.init({
    run,
    resample: run, // a new seed or task parameter: the model is kept when its sizes still fit
    stream: streamRun,
    pickTask: (name) => pickTask(name),
    applyPreset,
    importWeights,
    download,
    length: () => trace?.T ?? 0,
    hiddenSize: () => trace?.H ?? 0,
    hasBackward: () => Boolean(trace?.hasBackward),
  });
  unrolled.init($("view-unrolled"), $("view-overview"), (t) => set({ t: Math.max(0, Math.min(trace.T - 1, t)) }));
  heatmap.init($("view-heatmap"), (t, unit) => set({ t: Math.max(0, Math.min(trace.T - 1, t)), unit: Math.max(0, Math.min(trace.H - 1, unit)) }));
  outputs.init($("view-outputs"));
  gradients.init($("view-gradients"), $("gradient-radius"));
  equation.init($("view-equation"));
  gates.init($("view-gates"));
  weightsView.init($("view-weights"));
  text.init($("view-text"), sampleText);
  training.init($("view-training"), { start: startTraining, control: controlTraining });
  training.setConfig(state.training);
  compare.init($("view-compare"), runCompare);
  compare.setConfigs(state.compare.a, state.compare.b);
  $("download-unrolled").addEventListener("click", () => download("unrolled"));
  $("view-text").addEventListener("pick-step", (event) => set({ t: event.detail }));
  subscribe(render);
  render(state, ["tab"]);

  const loaded = await guarded(loadTasks);
  if (loaded === undefined && tasks.length === 0) return;
  const task = tasks.find((t) => t.name === state.task) || tasks[0];
  set({ task: task.name });
  $("task").value = task.name;
  controls.setTaskDescription(task.description);
  controls.setTaskParams(task.params, state.urlParams || {});
  controls.writeSampleSeed(state.sampleSeed);
  controls.writeModelForm({ ...task.default_config, ...state.urlConfig });
  const trainingDefaults = { ...state.training, ...(task.default_training || {}), ...state.urlTraining };
  set({ training: trainingDefaults });
  training.setConfig(trainingDefaults);
  const wanted = { t: state.t, phase: state.phase, unit: state.unit, layer: state.layer };
  if (state.model) {
    const opened = await openStoredModel(state.model);
    if (!opened) set({ model: "" });
  }
  await guarded(async () => {
    sample = await fetchSample(task);
    const config = configFor(task, sample);
    if (!model || !sameConfig(model.config, config)) {
      if (model) throw new api.ApiError(`The model ${model.id} does not fit the task ${task.name} (its sizes differ).`);
      await replaceModel(config);
    }
    await computeTrace();
  });
  if (trace) {
    set({
      t: Math.min(wanted.t, trace.T - 1),
      phase: wanted.phase === "backward" && trace.hasBackward ? "backward" : "forward",
      unit: Math.min(wanted.unit, trace.H - 1),
      layer: Math.min(wanted.layer, trace.L - 1),
    });
  }
  document.body.dataset.ready = "true";
}

let resizeTimer = 0;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => render(state, ["resize"]), 150);
});

window.addEventListener("pagehide", () => {
  // models the page made for itself are not kept on the server
  for (const id of [...createdByPage, ...compareModels]) api.forgetModel(id);
});

/** For the browser tests and benchmarks: the state, the trace and the URL query. */
window.rnnExplorer = { state, set, trace: () => trace, model: () => model, session: () => session?.id ?? null, query: toQuery };

start();
