// The link: every piece of state a link carries, listed once in URL_STATE (as TF Playground's
// state.ts lists its keys). Reading and writing the query both go through the table, so the
// link of a page opened from a link is that link. Values equal to their default are left out.
//
// An entry: the query key, the path in the state, a type (int | float | choice | id | compare |
// params), bounds (numbers, or functions of the server's limits and the context) and the
// default. A choice's values come from the server where the server decides them. FROM_SELECTION defaults are those of the
// selected task or preset (selection.js); a link names only what differs from them.

import { SCHEDULE_FIELDS } from "./schedules.js";
import { SPEEDS, TABS, WEIGHT_MATRICES, state as initial } from "./state.js";

const FROM_SELECTION = "the selected task's or preset's value";

const limit = (name) => (limits) => limits[name];
const lastIndex = (name) => (limits) => limits[name] - 1; // an index into that many
const modelChoices = (field) => ({ catalogue }) => catalogue.choices.model[field];

/** The task of the preset read (or on show), "" for a shapes-only one; else the first task. */
function presetsTask({ catalogue, read }) {
  const preset = catalogue.presets.find((p) => p.name === read.preset);
  return preset ? preset.task ?? "" : catalogue.tasks[0].name;
}

export const URL_STATE = [
  // the selection first: the defaults of the entries below are its values. The preset comes
  // before the task, whose default is the preset's task ("" for a shapes-only preset); a preset
  // of another task than the link's is dropped by selection.js.
  { key: "preset", path: "preset", type: "choice", choices: ({ catalogue }) => catalogue.presets.map((p) => p.name), default: "" },
  { key: "task", path: "task", type: "choice", choices: ({ catalogue }) => catalogue.tasks.map((t) => t.name), default: presetsTask },
  { key: "p", path: "params", type: "params", default: FROM_SELECTION },
  { key: "sample", path: "sampleSeed", type: "int", min: 0, default: 0 },
  { key: "model", path: "modelId", type: "id", default: "" },
  { key: "cell", path: "config.cell", type: "choice", choices: modelChoices("cell"), default: FROM_SELECTION },
  { key: "nonlinearity", path: "config.nonlinearity", type: "choice", choices: modelChoices("nonlinearity"), default: FROM_SELECTION },
  { key: "hidden_size", path: "config.hidden_size", type: "int", min: 1, max: limit("max_hidden_size"), default: FROM_SELECTION },
  { key: "num_layers", path: "config.num_layers", type: "int", min: 1, max: limit("max_layers"), default: FROM_SELECTION },
  { key: "init", path: "config.init", type: "choice", choices: modelChoices("init"), default: FROM_SELECTION },
  { key: "seed", path: "config.seed", type: "int", min: 0, default: FROM_SELECTION },
  { key: "forget_bias", path: "config.forget_bias", type: "float", default: FROM_SELECTION },
  { key: "opt", path: "training.optimizer", type: "choice", choices: ({ catalogue }) => catalogue.choices.training.optimizer, default: FROM_SELECTION },
  { key: "lr", path: "training.lr", type: "float", above: 0, default: FROM_SELECTION },
  { key: "steps", path: "training.steps", type: "int", min: 1, max: limit("max_training_steps"), default: FROM_SELECTION },
  { key: "batch", path: "training.batch_size", type: "int", min: 1, max: limit("max_batch"), default: FROM_SELECTION },
  { key: "clip", path: "training.clip", type: "float", above: 0, optional: true, default: FROM_SELECTION },
  { key: "truncate", path: "training.truncate", type: "int", min: 1, max: limit("max_steps"), optional: true, default: FROM_SELECTION },
  { key: "wd", path: "training.weight_decay", type: "float", min: 0, max: 1, default: FROM_SELECTION },
  { key: "sched", path: "training.schedule", type: "schedule", default: FROM_SELECTION },
  // the cursor: out of range it goes to the nearest valid place (the trace bounds it further)
  { key: "t", path: "t", type: "int", min: 0, max: lastIndex("max_steps"), clamp: true, default: 0 },
  { key: "phase", path: "phase", type: "choice", choices: () => ["forward", "backward"], default: "forward" },
  { key: "unit", path: "unit", type: "int", min: 0, max: lastIndex("max_hidden_size"), clamp: true, default: 0 },
  { key: "layer", path: "layer", type: "int", min: 0, max: lastIndex("max_layers"), clamp: true, default: 0 },
  { key: "speed", path: "speed", type: "choice", choices: () => SPEEDS, default: 10 },
  { key: "tab", path: "tab", type: "choice", choices: () => TABS, default: "explore" },
  { key: "weight", path: "weight", type: "choice", choices: () => WEIGHT_MATRICES, default: "W_hh" },
  { key: "projector", path: "projector", type: "choice", choices: () => ["", "1", "0"], default: "" },
  { key: "check", path: "check", type: "choice", choices: () => [false, true], default: false },
  // the lesson followed and its step (lesson-session.js applies a step's own link on top)
  { key: "lesson", path: "lesson", type: "choice", choices: ({ catalogue }) => catalogue.lessons.map((l) => l.name), default: "" },
  { key: "step", path: "lessonStep", type: "int", min: 0, max: (limits, { catalogue, read }) => Math.max(0, (catalogue.lessons.find((l) => l.name === read.lesson)?.steps.length ?? 1) - 1), clamp: true, default: 0 },
  { key: "cmpA", path: "compare.a", type: "compare", default: initial.compare.a },
  { key: "cmpB", path: "compare.b", type: "compare", default: initial.compare.b },
];

// A text longer than this (a corpus) does not belong in a link: the link keeps the default.
const LONGEST_LINK_TEXT = 200;

/** The fields under a state key that a link carries: fieldsUnder("config") → ["cell", …]. */
export function fieldsUnder(key) {
  return URL_STATE.filter((e) => e.path.startsWith(`${key}.`)).map((e) => e.path.slice(key.length + 1));
}

function getPath(object, path) {
  return path.split(".").reduce((value, name) => value?.[name], object);
}

function setPath(object, path, value) {
  const names = path.split(".");
  const last = names.pop();
  const parent = names.reduce((o, name) => (o[name] ??= {}), object);
  parent[last] = value;
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// The numeric knobs a compared side may set, by their letter in the link.
const COMPARE_KNOBS = { h: "hidden_size", l: "num_layers", s: "seed", f: "forget_bias" };

/** A number within the entry's bounds: clamped into them, or undefined (the default). */
function bounded(value, entry, context) {
  const limits = context.catalogue.choices.limits;
  const min = typeof entry.min === "function" ? entry.min(limits, context) : entry.min;
  const max = typeof entry.max === "function" ? entry.max(limits, context) : entry.max;
  if (entry.above !== undefined && !(value > entry.above)) return undefined;
  if (entry.clamp) return Math.max(min ?? -Infinity, Math.min(max ?? Infinity, value));
  if ((min !== undefined && value < min) || (max !== undefined && value > max)) return undefined;
  return value;
}

/** Each type: parse(text) → the value, or undefined for a malformed one; format(value) → text. */
const TYPES = {
  int: {
    parse: (raw, entry, context) => (/^-?\d{1,15}$/.test(raw) ? bounded(Number(raw), entry, context) : undefined),
    format: String,
  },
  float: {
    parse(raw, entry, context) {
      if (raw === "") return entry.optional ? null : undefined;
      const value = Number(raw);
      return Number.isFinite(value) ? bounded(value, entry, context) : undefined;
    },
    format: (value) => (value === null || value === undefined ? "" : String(value)),
  },
  choice: {
    parse: (raw, entry, context) => entry.choices(context).find((choice) => String(choice) === raw),
    format: String,
  },
  id: {
    parse: (raw) => (/^[A-Za-z0-9_-]{1,64}$/.test(raw) ? raw : undefined),
    format: String,
  },
  // a learning-rate schedule: name~period~factor (step~100~0.5, cosine~500~0.0001), the factor
  // optional
  schedule: {
    parse(raw, entry, context) {
      const [name, period, factor, extra] = raw.split("~");
      const fields = SCHEDULE_FIELDS[name];
      if (!fields || extra !== undefined || !context.catalogue.choices.training.schedule.includes(name)) return undefined;
      if (!/^\d{1,9}$/.test(period ?? "") || Number(period) < 1) return undefined;
      const value = { name, [fields.period]: Number(period) };
      if (factor === undefined) return value;
      if (factor === "" || !Number.isFinite(Number(factor)) || Number(factor) < 0) return undefined;
      return { ...value, [fields.factor]: Number(factor) };
    },
    format(value) {
      const fields = SCHEDULE_FIELDS[value.name];
      return [value.name, value[fields.period], value[fields.factor]].filter((v) => v !== undefined).join("~");
    },
  },
  // two compared configurations: cell.nonlinearity.init, then ~h<hidden size>~l<layers>
  // ~s<seed>~f<forget bias> for those a side sets
  compare: {
    parse(raw, entry, context) {
      const [head, ...knobs] = raw.split("~");
      const [cell, nonlinearity, init, extra] = head.split(".");
      const model = context.catalogue.choices.model;
      const valid = extra === undefined && model.cell.includes(cell) && model.nonlinearity.includes(nonlinearity) && model.init.includes(init);
      if (!valid) return undefined;
      const side = { cell, nonlinearity, init };
      const limits = context.catalogue.choices.limits;
      for (const knob of knobs) {
        const [letter, text] = [knob[0], knob.slice(1)];
        const field = COMPARE_KNOBS[letter];
        const value = Number(text);
        if (!field || text === "" || !Number.isFinite(value)) return undefined;
        if (field !== "forget_bias" && !(Number.isInteger(value) && value >= (field === "seed" ? 0 : 1))) return undefined;
        if (field === "hidden_size" && value > limits.max_hidden_size) return undefined;
        if (field === "num_layers" && value > limits.max_layers) return undefined;
        side[field] = value;
      }
      return side;
    },
    format: (c) => [`${c.cell}.${c.nonlinearity}.${c.init}`, ...Object.entries(COMPARE_KNOBS).filter(([, field]) => c[field] !== undefined && c[field] !== null).map(([letter, field]) => `${letter}${c[field]}`)].join("~"),
  },
};

/** A task parameter from text, by its kind in the task's description (GET /api/v1/tasks). */
function parseParam(raw, spec, limits) {
  if (spec.kind === "bool") return raw === "true" ? true : raw === "false" ? false : undefined;
  if (spec.kind === "choice") return (spec.choices || []).includes(raw) ? raw : undefined;
  if (spec.kind === "text") return raw.length <= limits.max_text_length ? raw : undefined;
  const pattern = spec.kind === "int" ? /^-?\d{1,15}$/ : /^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;
  if (!pattern.test(raw)) return undefined;
  const value = Number(raw);
  if ((spec.min !== undefined && spec.min !== null && value < spec.min) || (spec.max !== undefined && spec.max !== null && value > spec.max)) return undefined;
  return value;
}

/** Every parameter's value: the task's defaults with `params` on top. */
function allParams(task, params) {
  const values = {};
  for (const [name, spec] of Object.entries(task.params || {})) values[name] = params[name] ?? spec.default ?? null;
  return values;
}

function taskOf(catalogue, name) {
  return catalogue.tasks.find((task) => task.name === name);
}

/**
 * The state a query string names, complete for every entry of the table: the selection's
 * values (`selectionOf(catalogue, task, preset)`, see selection.js) with the link's on top;
 * malformed or unknown values keep their defaults.
 */
export function readQuery(search, catalogue, selectionOf) {
  const query = new URLSearchParams(search);
  const read = {};
  const context = { catalogue, read };
  let selected = null;
  for (const entry of URL_STATE) {
    if (entry.default === FROM_SELECTION && !selected) {
      // preset and task are read: the rest starts from what they select (the selection decides
      // which of them stand: a preset of another task is dropped)
      selected = selectionOf(catalogue, read.task, read.preset);
      Object.assign(read, structuredClone(selected));
    }
    if (entry.type === "params") {
      const task = taskOf(catalogue, read.task);
      if (!task) continue; // a shapes-only preset: no task, no parameters
      const params = { ...read.params };
      for (const [name, spec] of Object.entries(task.params || {})) {
        const raw = query.get(`${entry.key}.${name}`);
        const value = raw === null ? undefined : parseParam(raw, spec, catalogue.choices.limits);
        if (value !== undefined) params[name] = value;
      }
      // only what differs from the task's defaults is kept
      read.params = Object.fromEntries(Object.entries(params).filter(([name, value]) => !same(value, task.params[name].default) && value !== null));
      continue;
    }
    const raw = query.get(entry.key);
    const value = raw === null ? undefined : TYPES[entry.type].parse(raw, entry, context);
    if (value !== undefined) setPath(read, entry.path, value);
    else if (entry.default !== FROM_SELECTION) setPath(read, entry.path, structuredClone(defaultOf(entry, context)));
  }
  return read;
}

function defaultOf(entry, context) {
  return typeof entry.default === "function" ? entry.default(context) : entry.default;
}

/** The query string of the state: every entry whose value differs from its default. */
export function toQuery(current, catalogue, selectionOf) {
  const query = new URLSearchParams();
  if (!catalogue || !(current.task || current.preset)) return ""; // the link is not read yet
  const selected = selectionOf(catalogue, current.task, current.preset);
  const context = { catalogue, read: current };
  for (const entry of URL_STATE) {
    if (entry.type === "params") {
      const task = taskOf(catalogue, current.task);
      if (!task) continue;
      const values = allParams(task, current.params);
      const defaults = allParams(task, selected.params);
      for (const [name, value] of Object.entries(values)) {
        if (same(value, defaults[name]) || value === null) continue;
        if (String(value).length <= LONGEST_LINK_TEXT) query.set(`${entry.key}.${name}`, String(value));
      }
      continue;
    }
    const value = getPath(current, entry.path);
    const fallback = entry.default === FROM_SELECTION ? getPath(selected, entry.path) : defaultOf(entry, context);
    if (value !== undefined && !same(value, fallback)) query.set(entry.key, TYPES[entry.type].format(value));
  }
  return query.toString();
}

/** The top-level state keys a link carries (a change to any other key leaves the link as it is). */
export const LINKED_KEYS = new Set(URL_STATE.map((entry) => entry.path.split(".")[0]));
