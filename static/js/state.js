// The one state object every view reads: the timestep cursor, the pass, the selection, the
// task and the model configuration. It round-trips through the URL so a link reproduces the view.

const MODEL_KEYS = ["cell", "nonlinearity", "hidden_size", "num_layers", "init", "seed", "forget_bias"];
// the values a link may name for the model's choices (anything else keeps the task's default)
const CHOICES = {
  cell: ["rnn", "lstm", "gru"],
  nonlinearity: ["tanh", "sigmoid", "relu", "identity"],
  init: ["pytorch", "uniform", "uniform_symmetric", "normal", "xavier", "orthogonal", "identity"],
};

export const state = {
  t: 0,
  phase: "forward", // "forward" | "backward"
  unit: 0,
  layer: 0,
  speed: 10, // timesteps per second while playing
  playing: false,
  tab: "explore",
  task: "",
  sampleSeed: 0,
  params: {}, // the task's parameters that differ from its defaults
  model: "", // a stored model to open (an imported one), or "" to build one from the config
  config: {}, // the model fields of the form (cell, sizes, init, seed)
  training: { optimizer: "adam", lr: 0.01, steps: 200, batch_size: 16 },
  weight: "W_hh",
  compare: {
    a: { cell: "rnn", nonlinearity: "sigmoid", init: "uniform" },
    b: { cell: "rnn", nonlinearity: "tanh", init: "orthogonal" },
  },
};

const listeners = new Set();

/** Calls fn(state, changedKeys) after every change; returns the unsubscribe function. */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Merges `patch` into the state, keeps the URL in step and tells every subscriber. */
export function set(patch) {
  const changed = [];
  for (const [key, value] of Object.entries(patch)) {
    if (state[key] !== value) {
      state[key] = value;
      changed.push(key);
    }
  }
  if (changed.length === 0) return;
  writeURL();
  for (const fn of listeners) fn(state, changed);
}

/** The URL's query string, in short readable keys. */
export function toQuery() {
  const q = new URLSearchParams();
  if (state.task) q.set("task", state.task);
  for (const key of MODEL_KEYS) {
    if (state.config[key] !== undefined) q.set(key, String(state.config[key]));
  }
  for (const [name, value] of Object.entries(state.params)) {
    // long texts (a corpus) do not belong in a link
    if (String(value).length <= 200) q.set(`p.${name}`, String(value));
  }
  if (state.model) q.set("model", state.model);
  q.set("sample", String(state.sampleSeed));
  q.set("t", String(state.t));
  q.set("phase", state.phase);
  q.set("unit", String(state.unit));
  if (state.layer) q.set("layer", String(state.layer));
  q.set("speed", String(state.speed));
  if (state.tab !== "explore") q.set("tab", state.tab);
  if (state.weight !== "W_hh") q.set("weight", state.weight);
  q.set("opt", state.training.optimizer);
  q.set("lr", String(state.training.lr));
  q.set("steps", String(state.training.steps));
  q.set("cmpA", compareToken(state.compare.a));
  q.set("cmpB", compareToken(state.compare.b));
  return q.toString();
}

function compareToken(c) {
  return `${c.cell}.${c.nonlinearity}.${c.init}`;
}

function parseCompare(token, fallback) {
  const [cell, nonlinearity, init] = (token || "").split(".");
  if (!CHOICES.cell.includes(cell) || !CHOICES.nonlinearity.includes(nonlinearity) || !CHOICES.init.includes(init)) return fallback;
  return { cell, nonlinearity, init };
}

let urlTimer = 0;
function writeURL() {
  // Coalesced: playing at 60 steps/s must not spend its frame budget on history.replaceState.
  if (urlTimer) return;
  urlTimer = setTimeout(() => {
    urlTimer = 0;
    history.replaceState(null, "", `${location.pathname}?${toQuery()}`);
  }, 150);
}

function integer(value, fallback, min = 0) {
  const n = Number.parseInt(value ?? "", 10);
  return Number.isFinite(n) && n >= min ? n : fallback;
}

function bias(text) {
  const value = Number.parseFloat(text);
  return Number.isFinite(value) && Math.abs(value) <= 10 ? value : undefined;
}

/** Reads the state from the current URL (unknown or malformed values keep their defaults). */
export function readURL() {
  const q = new URLSearchParams(location.search);
  state.task = q.get("task") || "";
  const config = {};
  for (const key of MODEL_KEYS) {
    const raw = q.get(key);
    if (raw === null) continue;
    const value = CHOICES[key]
      ? (CHOICES[key].includes(raw) ? raw : undefined)
      : key === "forget_bias" ? bias(raw) : integer(raw, undefined);
    if (value !== undefined) config[key] = value;
  }
  state.urlConfig = config;
  const params = {};
  for (const [key, value] of q.entries()) if (key.startsWith("p.")) params[key.slice(2)] = value;
  state.urlParams = params;
  state.model = /^[A-Za-z0-9_-]{1,64}$/.test(q.get("model") || "") ? q.get("model") : "";
  state.sampleSeed = integer(q.get("sample"), 0);
  state.t = integer(q.get("t"), 0);
  state.phase = q.get("phase") === "backward" ? "backward" : "forward";
  state.unit = integer(q.get("unit"), 0);
  state.layer = integer(q.get("layer"), 0);
  state.speed = integer(q.get("speed"), 10, 1);
  const tab = q.get("tab");
  state.tab = ["explore", "train", "compare"].includes(tab) ? tab : "explore";
  state.weight = ["W_xh", "W_hh", "W_hq"].includes(q.get("weight")) ? q.get("weight") : "W_hh";
  // the training settings the link names (the task's defaults fill in the rest)
  const training = {};
  const optimizer = q.get("opt");
  if (["sgd", "momentum", "adam", "rmsprop", "adagrad"].includes(optimizer)) training.optimizer = optimizer;
  const lr = Number.parseFloat(q.get("lr") ?? "");
  if (Number.isFinite(lr) && lr > 0) training.lr = lr;
  const steps = integer(q.get("steps"), 0, 1);
  if (steps) training.steps = steps;
  state.urlTraining = training;
  Object.assign(state.training, training);
  state.compare.a = parseCompare(q.get("cmpA"), state.compare.a);
  state.compare.b = parseCompare(q.get("cmpB"), state.compare.b);
}
