// Two configurations on the same sample: a model for each (the model on show's config with the
// side's cell, nonlinearity and init), forward and backward, the two traces into the store.

import * as api from "./api.js";
import { wantedConfig } from "./model-session.js";
import { fitToCell } from "./selection.js";
import { set, state } from "./state.js";
import { buildTrace } from "./trace.js";

let compared = []; // the ids of the two models on show (the page made them)

export async function run() {
  if (!state.sample) throw new api.ApiError("Pick a task first: both configurations run on its current sample.");
  if (state.sample.targets === null) throw new api.ApiError(`The preset ${state.preset} has no task and no targets: the comparison needs a loss. Pick a task or one of its presets.`);
  const { sample } = state;
  const base = wantedConfig(sample);
  const previous = compared;
  compared = [];
  const traces = [];
  for (const side of [state.compare.a, state.compare.b]) {
    const config = fitToCell({ ...base, ...side }, state.catalogue.choices);
    const info = await api.createModel(config, `compare · ${side.cell} ${side.nonlinearity} ${side.init}`);
    compared.push(info.id);
    const [forwardResult, backwardResult] = await Promise.all([
      api.forward(info.id, { inputs: sample.inputs }),
      api.backward(info.id, { inputs: sample.inputs, targets: sample.targets }),
    ]);
    traces.push(buildTrace({ modelId: info.id, config: info.config, task: state.task, sample, forward: forwardResult, backward: backwardResult, weights: null }));
  }
  for (const id of previous) api.deleteModel(id).catch(() => {});
  set({ comparison: { a: traces[0], b: traces[1] } });
}

/** Deletes the compared models, as the page goes away. */
export function forgetModels() {
  for (const id of compared) api.forgetModel(id);
}

/** A side's menus changed: its config (with the fields its cell does not have at their defaults). */
export function choose(side, config) {
  set({ compare: { ...state.compare, [side]: fitToCell(config, state.catalogue.choices) } });
}
