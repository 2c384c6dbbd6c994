// The model on show and its trace: sample the task (or take a shapes-only preset's example),
// build the model the choices ask for (or keep the one on show when it already is that model),
// run forward and backward (forward only without targets) on the sample and read its weights
// (and, for a classifier of the plane, its decision boundary), all through api.js; the answers
// go into the store together.

import * as api from "./api.js";
import { decisionFor } from "./decision-session.js";
import { deriveBackward, deriveForward } from "./derive.js";
import { fits, modelConfig, sampleSource } from "./selection.js";
import { set, state } from "./state.js";
import { buildTrace } from "./trace.js";
import { fieldsUnder } from "./url.js";

const madeHere = new Set(); // models this page created (deleted when replaced or when the page goes)

// A text longer than this goes in a POST body rather than in the sample's query string.
const LONGEST_QUERY_TEXT = 200;

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
  return { inputs, targets, meta, config: raw.config || {} };
}

/** The first sequence of a preset's example (inputs (B, T, D) → (T, D)); it has no targets. */
function exampleSample(raw) {
  return { inputs: raw.inputs[0], targets: null, meta: { sequences: raw.inputs.length }, config: raw.config };
}

async function fetchSample() {
  const { task, preset } = sampleSource(state.catalogue, state.task, state.preset);
  if (preset) return exampleSample(await api.presetExample(preset.name, state.sampleSeed));
  const params = state.params;
  const hasLongText = Object.values(params).some((v) => typeof v === "string" && v.length > LONGEST_QUERY_TEXT);
  const raw = hasLongText
    ? await api.sampleTaskPost(task.name, state.sampleSeed, params)
    : await api.sampleTask(task.name, state.sampleSeed, params);
  return normaliseSample(raw);
}

/** The config of the model the page's choices ask for on this sample. */
export function wantedConfig(sample = state.sample) {
  return modelConfig(sample, state.config, state.catalogue.choices);
}

/** Lets go of the model on show for `info`: deleted when this page made it. */
function letGoOfPrevious(info) {
  const previous = state.model;
  if (previous && madeHere.has(previous.id) && previous.id !== info.id) {
    madeHere.delete(previous.id);
    api.deleteModel(previous.id).catch(() => {});
  }
}

async function createModel(config) {
  const { task, preset } = sampleSource(state.catalogue, state.task, state.preset);
  const info = await api.createModel(config, `explorer · ${preset ? preset.name : task.title || task.name}`);
  madeHere.add(info.id);
  letGoOfPrevious(info);
  return info;
}

const shape = (sizes) => `(${sizes.join(", ")}${sizes.length === 1 ? "," : ""})`;

/** What a forward-only trace shows: the preset, the input's shape and the hidden states'. */
function forwardOnlyStatus(trace, sample) {
  const { sequences } = sample.meta;
  const which = sequences > 1 ? `the first of its ${sequences} example sequences, ` : "";
  const states = trace.sequence ? `H ${shape([trace.T, trace.H])}` : `H_T ${shape([trace.H])}`;
  return `${state.preset}: ${which}an input of shape ${shape([trace.T, trace.D])} → ${states} · forward pass only (no task, no targets).`;
}

// Each showing takes a ticket when it starts; an answer that comes back after a later showing
// began is dropped, so a refresh after training cannot put back a sample the page has left.
// While a run is under way a refresh is not needed: the run reads the model as it is.
let latest = 0;
let running = 0;

/** Runs forward + backward (forward only without targets) on the sample and puts the trace on show. */
async function show(model, sample, ticket) {
  // the training's BPTT length k, if it truncates: the gradient on show is the one it trains with
  const truncate = state.training.truncate ?? null;
  // a float64 model's trace comes compact (states only) and the page derives the rest exactly;
  // a float32 model's would differ from the server's float32 values, so it comes whole
  const states = (model.config.dtype ?? "float64") === "float64";
  const weightsAnswer = api.weights(model.id);
  // the forward arrays are derived as soon as the forward answer is in, while the server still
  // computes the backward pass
  // a sequence of a padded batch runs to its own end: its length goes with it, as `lengths`
  const lengths = sample.length ? { lengths: [sample.length] } : {};
  const forwardAnswer = Promise.all([api.forward(model.id, { inputs: sample.inputs, ...lengths }, { states }), weightsAnswer]).then(([forward, weights]) => {
    if (ticket === latest) deriveForward(model.config, sample.inputs, weights, forward);
    return forward;
  });
  const [forwardResult, backwardResult, weights, decision] = await Promise.all([
    forwardAnswer,
    sample.targets === null ? null : api.backward(model.id, { inputs: sample.inputs, targets: sample.targets, ...lengths, ...(truncate ? { truncate } : {}) }, { states }),
    weightsAnswer,
    decisionFor(model),
  ]);
  if (ticket !== latest) return; // a later showing is under way, or done
  if (backwardResult) deriveBackward(model.config, weights, forwardResult, backwardResult);
  const trace = buildTrace({ modelId: model.id, config: model.config, task: state.task, sample, forward: forwardResult, backward: backwardResult, weights });
  trace.modelName = model.name;
  trace.truncate = backwardResult && truncate ? truncate : null;
  const T = trace.T;
  const end = trace.length; // the last real step + 1 (T unless the sequence is padded)
  set({
    model,
    sample,
    trace,
    decision,
    computing: "",
    // the cursor and the selection stay where they are when the new trace has room for them
    t: Math.min(state.t, end - 1),
    unit: Math.min(state.unit, trace.H - 1),
    layer: Math.min(state.layer, trace.L - 1),
    phase: trace.hasBackward ? state.phase : "forward",
    status: trace.hasBackward
      ? `Loss ${trace.loss.toFixed(4)} on sample ${state.sampleSeed} · T = ${T} ${T === 1 ? "step" : "steps"} · forward and backward computed by the server.`
      : forwardOnlyStatus(trace, sample),
  });
}

/** Build & run: a new sample, a model for the choices (kept when it already is that model), the trace. */
export async function run() {
  const ticket = ++latest;
  running += 1;
  try {
    set({ playing: false, status: state.task ? "Sampling the task…" : "Reading the preset's example…" });
    const sample = await fetchSample();
    const config = wantedConfig(sample);
    let model = state.model;
    if (!model || !fits(model.config, config)) {
      set({ status: "Building the model…" });
      model = await createModel(config);
      set({ modelId: "" }); // a model of the page's own: the link names its config, not its id
    } else {
      model = await api.getModel(model.id); // kept: as it is now (training may have moved it)
    }
    const T = sample.inputs.length;
    const passes = sample.targets === null ? "the forward pass" : "the forward and backward passes";
    set({
      status: sample.targets === null ? "Running forward…" : "Running forward and backward…",
      computing: `Computing ${passes} for ${T} ${T === 1 ? "step" : "steps"}…`,
    });
    await show(model, sample, ticket);
  } finally {
    running -= 1;
    if (ticket === latest) set({ computing: "" });
  }
}

/** Opens the stored model the link names; its config drives the form. */
async function openStored(id) {
  try {
    const info = await api.getModel(id);
    const config = {};
    for (const field of fieldsUnder("config")) config[field] = info.config[field];
    set({ model: info, config: { ...state.config, ...config } });
  } catch (error) {
    set({ modelId: "" });
    if (error.status === 404) throw new api.ApiError(`The model ${id} of the link is not on this server; building one from the configuration instead.`, 404);
    throw error;
  }
}

/** The first trace of the page: the link's stored model, or one built from the link's choices. */
export async function open() {
  if (state.modelId) {
    try {
      await openStored(state.modelId);
    } catch (error) {
      await run();
      set({ status: `${error.message} ${state.status}` }); // why the page shows another model
      return;
    }
    const ticket = ++latest;
    // the link's own inputs (the Python client's show) run forward only, as a preset's example
    const sample = state.linkInputs ? linkSample(state.sequence) : await fetchSample();
    if (!fits(state.model.config, wantedConfig(sample))) {
      const chosen = state.linkInputs ? `the link's inputs (${state.linkInputs[0][0].length} features)` : state.task ? `the task ${state.task}` : `the preset ${state.preset}`;
      throw new api.ApiError(`The model ${state.model.id} does not fit ${chosen} (its sizes differ).`);
    }
    await show(state.model, sample, ticket);
    return;
  }
  await run();
}

/**
 * Sequence b of the link's batch (B, T, D): its inputs (T, D) padded to T, its length (its real
 * steps, null when the link gives no lengths); forward only, as a preset's example.
 */
function linkSample(b) {
  const inputs = state.linkInputs[b];
  const length = state.linkLengths ? state.linkLengths[b] : null;
  const meta = { sequences: state.linkInputs.length };
  return { inputs, targets: null, meta, config: { input_size: inputs[0].length }, length, fromLink: true };
}

/** Shows sequence b of the link's batch (its own end) on the model on show. */
export async function showSequence() {
  if (!state.linkInputs || !state.model || running) return;
  const sample = linkSample(Math.min(state.sequence, state.linkInputs.length - 1));
  await show(state.model, sample, ++latest);
}

/** The model on show read again (its weights change while it trains), and its new trace. */
export async function refresh() {
  if (!state.model || !state.sample || running) return;
  const ticket = ++latest;
  const sample = state.sample;
  await show(await api.getModel(state.model.id), sample, ticket);
}

/** Imports PyTorch weights for the current task's sizes, or a Keras file (.keras, .h5) as its own
 * config says; the link then names the new model. */
export async function importWeights(file) {
  if (!state.sample) throw new api.ApiError("Pick a task first: the imported model needs its input and output sizes.");
  set({ status: `Importing ${file.name}…` });
  const keras = /\.(keras|h5)$/i.test(file.name);
  const name = file.name.replace(/(\.weights)?\.(safetensors|keras|h5)$/i, "");
  const info = await api.importWeights(file, keras ? {} : wantedConfig(), name);
  letGoOfPrevious(info);
  set({ modelId: info.id });
  await show(info, state.sample, ++latest);
  set({ status: `Imported ${file.name} as model ${info.id}; its link opens it again.` });
}

/** Deletes the models this page made, as the page goes away. */
export function forgetModels() {
  for (const id of madeHere) api.forgetModel(id);
}
