// What a choice of task (or of one of its presets) means for the rest of the page, in one
// place: its parameters, the model fields of the form, the training settings and where the
// sample comes from. The server's answers are the source: the task's default_config and
// default_training, the preset's model and training, the choices' model_defaults. No module
// fetches here; the catalogue is given.
//
// A shapes-only preset (one without a task, such as "SimpleRNN shapes") is chosen as task ""
// with that preset: its model is the preset's, its sample the preset's example inputs (no
// targets, so a forward pass only) and it has no parameters and no training settings.

import { fieldsUnder } from "./url.js";

// Model fields only some cells have: the server's choices say which (`cell_fields`) and refuse
// them on the others, so the form disables them there and holds the server's default instead.

/** Whether the model field applies to the cell, by the server's `choices`. */
export function appliesTo(field, cell, choices) {
  const cells = choices.cell_fields[field];
  return !cells || cells.includes(cell);
}

/** The config with each of its fields that its cell does not have set to the server's default. */
export function fitToCell(config, choices) {
  const fitted = { ...config };
  for (const field of Object.keys(choices.cell_fields)) {
    if (field in fitted && !appliesTo(field, fitted.cell, choices)) fitted[field] = choices.model_defaults[field];
  }
  return fitted;
}

/** The task of that name, or the server's first task. */
export function taskNamed(catalogue, name) {
  return catalogue.tasks.find((task) => task.name === name) || catalogue.tasks[0];
}

/** The preset of that name when it belongs to the task (task "": a shapes-only preset), else null. */
export function presetOf(catalogue, name, taskName) {
  if (!name) return null;
  return catalogue.presets.find((preset) => preset.name === name && (preset.task ?? "") === taskName) || null;
}

/**
 * Where the sample of a selection comes from: {task} (the task's sampler) or, for task "" and a
 * shapes-only preset, {preset} (its example inputs, GET /presets/{name}/example).
 */
export function sampleSource(catalogue, taskName, presetName) {
  const preset = taskName ? null : presetOf(catalogue, presetName, "");
  return preset ? { preset } : { task: taskNamed(catalogue, taskName) };
}

/** The parameters whose values differ from the task's defaults (unknown names dropped). */
export function changedParams(task, values) {
  const changed = {};
  for (const [name, value] of Object.entries(values || {})) {
    const spec = task.params?.[name];
    if (spec && value !== null && value !== undefined && value !== spec.default) changed[name] = value;
  }
  return changed;
}

function pick(source, names) {
  const picked = {};
  for (const name of names) picked[name] = source[name] ?? null;
  return picked;
}

/** The fields of `changed` whose values differ from those of `base`. */
function differences(changed, base) {
  const diff = {};
  for (const [name, value] of Object.entries(changed || {})) {
    if (JSON.stringify(value) !== JSON.stringify(base[name])) diff[name] = value;
  }
  return diff;
}

/**
 * The form's model fields for `model` on top of `base`: every field the form shows, and those
 * of `model`'s fields that differ from `base` even when the form does not show them (the loss).
 */
function formConfig(base, model, choices) {
  const changes = differences(model, base);
  return fitToCell({ ...pick({ ...base, ...changes }, fieldsUnder("config")), ...changes }, choices);
}

/**
 * Choosing a task, or a preset of it: the state it starts from. Its parameters, a first sample,
 * the form's model fields (the task's default config, with what the preset changes in it,
 * including fields the form does not show, such as the loss) and the training settings (the
 * task's defaults, with the preset's). Task "" with a shapes-only preset selects that preset:
 * its model on the server's defaults, no parameters, no training settings. Any other task ""
 * selects the first task. A link's values go on top of these (url.js).
 */
export function selection(catalogue, taskName, presetName = "") {
  const source = sampleSource(catalogue, taskName, presetName);
  const defaults = catalogue.choices.model_defaults;
  if (source.preset) {
    const config = formConfig(defaults, source.preset.model, catalogue.choices);
    return { task: "", preset: source.preset.name, params: {}, sampleSeed: 0, config, training: {} };
  }
  const { task } = source;
  const preset = presetOf(catalogue, presetName, task.name);
  const config = formConfig({ ...defaults, ...task.default_config }, preset?.model, catalogue.choices);
  const { task: _task, task_params: _params, ...presetTraining } = preset?.training || {};
  const training = { ...pick({ ...task.default_training, ...presetTraining }, fieldsUnder("training")), ...presetTraining };
  return {
    task: task.name,
    preset: preset?.name ?? "",
    params: changedParams(task, preset?.task_params),
    sampleSeed: 0,
    config,
    training,
  };
}

/** The model the page asks for: the sample's config (its sizes, head, loss) with the user's choices. */
export function modelConfig(sample, config, choices) {
  return fitToCell({ ...sample.config, ...config }, choices);
}

/** Whether a model's config (the server's, complete) is the one wanted (maybe partial). */
export function fits(modelConfig, wanted) {
  return Object.entries(wanted).every(([key, value]) => JSON.stringify(modelConfig[key]) === JSON.stringify(value));
}
