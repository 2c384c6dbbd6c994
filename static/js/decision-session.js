// The decision boundary of a one-step classifier (the spiral): the model's predicted class over
// a grid of the 2-D input plane, and the task's points on top. The grid goes to the server as a
// batch of T = 1 sequences (POST .../forward). model-session.js asks for it with every trace it
// shows (a new model, or new weights after a training refresh) and puts both in the store at
// once, so the boundary is always that of the model on show.

import * as api from "./api.js";
import { state } from "./state.js";

// The tasks whose examples are single 2-D points, one class each.
const PLANE_TASKS = new Set(["spiral"]);
// The grid's side (points per axis), at most √max_batch so that one request holds it all.
const GRID_SIDE = 32;
// The plane shown: the spirals lie inside the unit disc.
const EXTENT = 1.2;
// How many of the task's points are drawn on top (its default data set: 3 arms of 100).
const POINTS = 300;

/** The grid's coordinates: side values from −EXTENT to EXTENT on each axis. */
export function gridAxis(side) {
  return Array.from({ length: side }, (_, k) => -EXTENT + (2 * EXTENT * k) / (side - 1));
}

/** Whether the model reads one 2-D point and answers once: a classifier of the plane. */
function fitsThePlane(model) {
  return model.config.input_size === 2 && model.config.output_mode === "last";
}

/** The argmax of each row of outputs (B, Q). */
function classes(outputs) {
  return outputs.map((row) => row.indexOf(Math.max(...row)));
}

/** The decision boundary of `model` on the task on show, or null when its inputs are no plane. */
export async function decisionFor(model) {
  if (!PLANE_TASKS.has(state.task) || !fitsThePlane(model)) return null;
  const side = Math.min(GRID_SIDE, Math.floor(Math.sqrt(state.catalogue.choices.limits.max_batch)));
  const xs = gridAxis(side);
  const grid = [];
  for (const y of xs) for (const x of xs) grid.push([[x, y]]); // row-major: z[j][i] is (xs[i], xs[j])
  const batch = Math.min(POINTS, state.catalogue.choices.limits.max_batch);
  const [answer, points] = await Promise.all([
    api.forward(model.id, { inputs: grid }),
    api.sampleTask(state.task, state.sampleSeed, { ...state.params, batch_size: batch }),
  ]);
  const predicted = classes(answer.outputs);
  const z = xs.map((_, j) => predicted.slice(j * side, (j + 1) * side));
  const inputs = points.inputs.map((sequence) => sequence[0]);
  const pointsAnswer = await api.forward(model.id, { inputs: points.inputs });
  const pointClasses = classes(pointsAnswer.outputs);
  const correct = pointClasses.filter((c, k) => c === points.targets[k]).length;
  return {
    key: `${model.id}|${model.weights_version}|${state.sampleSeed}`,
    modelId: model.id,
    weightsVersion: model.weights_version,
    classes: model.config.output_size,
    x: xs,
    y: xs,
    z,
    points: { x: inputs.map((p) => p[0]), y: inputs.map((p) => p[1]), labels: points.targets },
    accuracy: correct / inputs.length,
  };
}
