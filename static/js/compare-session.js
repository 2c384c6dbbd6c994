// Two configurations trained on the same data and then run on the same sample: a model for each
// (the model on show's config with the side's knobs), two training sessions with one request
// (the task, its parameters, the sample seed and the training form's settings, without early
// stopping so that both take every step), then forward and backward on the sample with the
// trained weights (compact traces, completed by derive.js as the explorer's are). The traces and the sessions' histories go into the store.

import * as api from "./api.js";
import { deriveBackward, deriveForward } from "./derive.js";
import { wantedConfig } from "./model-session.js";
import { fitToCell } from "./selection.js";
import { set, state } from "./state.js";
import { buildTrace } from "./trace.js";

// How often the sessions are asked how far they are (ms).
const POLL_INTERVAL = 300;
const ENDED = new Set(["finished", "early_stopped", "stopped", "failed", "interrupted"]);

let compared = []; // the ids of the two models on show (the page made them)

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The one TrainRequest both sides train with. */
function sharedTraining() {
  const body = { task: state.task, task_params: state.params, seed: state.sampleSeed, early_stop: null };
  for (const [key, value] of Object.entries(state.training)) {
    if (key !== "early_stop" && value !== undefined && value !== null && !Number.isNaN(value)) body[key] = value;
  }
  const task = state.catalogue.tasks.find((t) => t.name === state.task);
  const steps = body.steps ?? task?.default_training.steps;
  if (steps) body.report_every = Math.max(1, Math.floor(steps / 50));
  return body;
}

function sideName(side) {
  const knobs = ["hidden_size", "num_layers", "seed", "forget_bias"].filter((k) => side[k] !== undefined && side[k] !== null).map((k) => `${k} ${side[k]}`);
  return [side.cell, side.cell === "rnn" ? side.nonlinearity : null, side.init, ...knobs].filter(Boolean).join(" ");
}

export async function run() {
  if (state.comparison?.pending) return; // one comparison at a time: the button is disabled meanwhile
  if (!state.sample) throw new api.ApiError("Pick a task first: both configurations train on its data and run on its current sample.");
  if (state.sample.targets === null || !state.task) throw new api.ApiError(`The preset ${state.preset} has no task and no targets: the comparison needs a loss. Pick a task or one of its presets.`);
  const { sample } = state;
  const base = wantedConfig(sample);
  const request = sharedTraining();
  const previous = compared;
  compared = [];
  const sides = [state.compare.a, state.compare.b];
  const models = [];
  for (const side of sides) {
    const config = fitToCell({ ...base, ...side }, state.catalogue.choices);
    const info = await api.createModel(config, `compare · ${sideName(side)}`);
    compared.push(info.id);
    models.push(info);
  }
  for (const id of previous) api.deleteModel(id).catch(() => {});
  set({ comparison: { pending: `Training A and B: ${request.steps ?? "the task's"} steps each, on the same data…` } });
  let sessions;
  let ended;
  let histories;
  try {
    sessions = await Promise.all(models.map((info) => api.startTraining(info.id, request)));
    ended = sessions;
    while (!ended.every((s) => ENDED.has(s.status))) {
      await pause(POLL_INTERVAL);
      ended = await Promise.all(sessions.map((s) => api.getSession(s.id)));
      set({ comparison: { pending: `Training A and B on the same data: A at step ${ended[0].step}, B at step ${ended[1].step} of ${ended[0].steps}…` } });
    }
    histories = await Promise.all(sessions.map((s) => api.sessionHistory(s.id)));
  } catch (error) {
    set({ comparison: null });
    throw error;
  }
  const traces = await Promise.all(models.map(async (info) => {
    // compact traces, as the explorer fetches them: the states travel, derive.js adds the rest
    const states = (info.config.dtype ?? "float64") === "float64";
    const [forwardResult, backwardResult, weights] = await Promise.all([
      api.forward(info.id, { inputs: sample.inputs }, { states }),
      api.backward(info.id, { inputs: sample.inputs, targets: sample.targets }, { states }),
      states ? api.weights(info.id) : null,
    ]);
    if (states) {
      deriveForward(info.config, sample.inputs, weights, forwardResult);
      deriveBackward(info.config, weights, forwardResult, backwardResult);
    }
    return buildTrace({ modelId: info.id, config: info.config, task: state.task, sample, forward: forwardResult, backward: backwardResult, weights: null });
  }));
  const sideOf = (k) => ({ trace: traces[k], session: ended[k], records: histories[k].records });
  set({ comparison: { a: traces[0], b: traces[1], training: { a: sideOf(0), b: sideOf(1) } } });
}

/** Deletes the compared models, as the page goes away. */
export function forgetModels() {
  for (const id of compared) api.forgetModel(id);
}

/** A side's knobs changed: its config (with the fields its cell does not have at their defaults). */
export function choose(side, config) {
  set({ compare: { ...state.compare, [side]: fitToCell(config, state.catalogue.choices) } });
}
