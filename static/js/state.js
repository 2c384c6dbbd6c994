// The page's one store. Everything the page knows lives here: what the user looks at (the
// cursor, the selection, the tab), what the user chose (task, parameters, the model and
// training settings of the forms, the compared configurations), the server's answers (its
// choices, the sample, the model, the trace, the training session) and the page's progress
// (busy, status, error). Modules change it with set(); views are told through subscribe() and
// draw from it. Nothing else keeps state that another module needs.

/** The page's own choices (the server's come with the catalogue). */
export const TABS = ["explore", "train", "compare"];
export const WEIGHT_MATRICES = ["W_hh", "W_xh", "W_hq"];
export const SPEEDS = [2, 5, 10, 30, 60];

export const state = {
  // what the user looks at
  t: 0,
  phase: "forward", // "forward" | "backward"
  unit: 0,
  layer: 0,
  speed: 10, // timesteps per second while playing
  playing: false,
  tab: "explore",
  weight: "W_hh",
  // encodings: the equation card's recomputed checks are on show
  check: false,
  litWeight: "", // the shared matrix whose arrows are pointed at in the unrolled network
  projector: "", // large type, one view a row: "" as the viewport's size decides, "1" on, "0" off

  // what the user chose (the link carries all of it, see url.js)
  task: "", // "" with a shapes-only preset: no task, the preset's example is the sample
  preset: "", // a preset of the task whose model and training choices are the defaults
  params: {}, // the task's parameters that differ from its defaults
  sampleSeed: 0,
  modelId: "", // a stored model to open (an imported one), or "" to build one from the config
  config: {}, // the model fields of the form (cell, hidden size, layers, init, seed, …)
  training: {}, // the training settings of the form (optimiser, learning rate, steps, …)
  lesson: "", // the lesson being followed ("" for none), by name
  lessonStep: 0, // its step on show, from 0
  compare: {
    a: { cell: "rnn", nonlinearity: "sigmoid", init: "uniform" },
    b: { cell: "rnn", nonlinearity: "tanh", init: "orthogonal" },
  },

  // the server's answers
  catalogue: null, // {choices, tasks, presets}: what may be chosen, read once at start-up
  sample: null, // the task's example on show: {inputs, targets (null: none), meta, config}
  linkInputs: null, // (B, T, D) inputs the link's fragment gave for its stored model (a (T, D) one: B = 1), or null
  linkLengths: null, // (B,) each sequence's real steps (the rest is padding), or null: all T
  sequence: 0, // the sequence of the link's batch on show, from 0
  model: null, // the ModelInfo of the model on show
  trace: null, // its forward (+ backward, with targets) pass on the sample (trace.js)
  session: null, // the training session followed: {id, status, step, steps, records}
  comparison: null, // {a, b}: the two compared traces
  decision: null, // the predicted class over the input plane of a 2-D classifier (decision-session.js)
  // a continuation of the prompt (empty: of the text of trace traceId), with its seed
  sampled: { traceId: 0, pending: false, prompt: "", text: "", seed: null, probabilities: [] },
  lessonText: null, // the lesson followed, whole: {name, title, steps: [{title, html, setup, query}]}
  // input connectivity of the trace on show (connectivity-session.js): {traceId, t, norms, reach_90}
  // for the output at t, or {traceId, t, error}; null until asked
  connectivity: null,
  computing: "", // what the server is computing for the trace to come ("" when nothing), shown with a progress bar

  // the page's progress
  busy: 0, // requests under way
  status: "",
  error: "",
  typesetter: false, // KaTeX has loaded: the math on show can be typeset
  welcome: false, // the first screen's invitation is on show
};

/** The keys too large or too live to copy for a look at the state (the test hook's). */
const SERVER_ANSWERS = new Set(["catalogue", "sample", "model", "trace", "session", "comparison", "decision", "lessonText", "connectivity"]);

const listeners = new Set();

/** Calls fn(state, changedKeys) after every change; returns the unsubscribe function. */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Calls fn(state, changedKeys) after the changes that touch one of `keys`. */
export function watch(keys, fn) {
  const wanted = new Set(keys);
  return subscribe((current, changed) => {
    if (changed.some((key) => wanted.has(key))) fn(current, changed);
  });
}

/**
 * Merges `patch` into the state (key by key, replacing values: a changed object is a new
 * object) and tells every subscriber which keys changed.
 */
export function set(patch) {
  const changed = [];
  for (const [key, value] of Object.entries(patch)) {
    if (!(key in state)) throw new Error(`The page state has no key ${key}.`);
    if (state[key] !== value) {
      state[key] = value;
      changed.push(key);
    }
  }
  if (changed.length === 0) return;
  for (const fn of listeners) fn(state, changed);
}

/** A copy of the state without the server's answers (for a test or a look in the console). */
export function snapshot() {
  const copy = {};
  for (const [key, value] of Object.entries(state)) {
    if (!SERVER_ANSWERS.has(key)) copy[key] = structuredClone(value);
  }
  return copy;
}
