// The sidebar: the task and its presets, the task's parameters, the sample seed, the model's
// fields, Build & run, the stream, the weights and the downloads. Its menus and bounds are the
// server's (the catalogue's choices and limits); its values are the store's. A change writes
// to the store; what needs the server is asked of main's handlers. A shapes-only preset shows
// as "no task" in the task menu, with no parameters.

import { appliesTo, changedParams, fitToCell, sampleSource, selection, taskNamed } from "../selection.js";
import { set, state } from "../state.js";

const $ = (id) => document.getElementById(id);

let handlers = {};
let builtCatalogue = null;
let paramsTask = "";

/**
 * handlers: {run(), replay(), importWeights(file), download(kind)}; run() also follows a new
 * seed or parameter (a new sample: the model stays when its sizes still fit).
 */
export function init(callbacks) {
  handlers = callbacks;
  $("config-form").addEventListener("submit", (event) => {
    event.preventDefault();
    handlers.run();
  });
  $("stream").addEventListener("click", () => handlers.replay());
  $("task").addEventListener("change", () => choose($("task").value, ""));
  for (const field of modelFields()) {
    field.addEventListener("input", () => changeModelField(field));
    field.addEventListener("change", () => {
      changeModelField(field);
      showModelFields(state); // a half-typed or refused value gives way to the stored one
    });
  }
  $("sample-seed").addEventListener("change", () => {
    const seed = Number.parseInt($("sample-seed").value, 10);
    set({ sampleSeed: Number.isFinite(seed) && seed >= 0 ? seed : 0 });
    handlers.run();
  });
  $("import-weights").addEventListener("change", () => {
    const file = $("import-weights").files[0];
    if (file) handlers.importWeights(file);
    $("import-weights").value = "";
  });
  for (const kind of ["weights", "json", "csv"]) $(`download-${kind}`).addEventListener("click", () => handlers.download(kind));
  // on a tablet the form sits above the views: folded away until asked for
  $("sidebar-toggle").addEventListener("click", () => foldSidebar($("sidebar-toggle").getAttribute("aria-expanded") === "true"));
  if (window.matchMedia("(max-width: 1100px)").matches) foldSidebar(true);
}

/** Folds the sidebar's form away (on a tablet or a projector the form sits above the views). */
export function foldSidebar(folded) {
  $("sidebar-toggle").setAttribute("aria-expanded", folded ? "false" : "true");
  document.querySelector(".sidebar").classList.toggle("collapsed", folded);
}

/** The one way to choose a task or a preset: its selection into the store, then a new trace. */
function choose(taskName, presetName) {
  set(selection(state.catalogue, taskName, presetName));
  handlers.run();
}

/** A preset with a task selects both; a shapes-only preset selects no task (task ""). */
function choosePreset(preset) {
  choose(preset.task ?? "", preset.name);
}

/* ---------- the model's fields: named as the config's fields, typed by their inputs ---------- */

function modelFields() {
  return [...$("model-fields").querySelectorAll("select, input")];
}

function fieldValue(field) {
  if (field.tagName === "SELECT") return field.value;
  const value = field.step === "1" ? Number.parseInt(field.value, 10) : Number.parseFloat(field.value);
  return Number.isFinite(value) ? value : undefined;
}

function changeModelField(field) {
  const value = fieldValue(field);
  if (value === undefined || state.config[field.name] === value) return;
  set({ config: fitToCell({ ...state.config, [field.name]: value }, state.catalogue.choices) });
}

function showModelFields(current) {
  for (const field of modelFields()) {
    const value = current.config[field.name];
    // the field being typed in keeps its text
    if (field !== document.activeElement && value !== undefined && value !== null) field.value = String(value);
    field.disabled = !appliesTo(field.name, current.config.cell, current.catalogue.choices);
  }
}

/* ---------- what the server offers ---------- */

function options(select, values, label = (value) => value) {
  select.replaceChildren(...values.map((value) => {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = label(value);
    return option;
  }));
}

function buildChoices(catalogue) {
  const { choices, tasks, presets } = catalogue;
  for (const field of modelFields()) {
    if (field.tagName === "SELECT") options(field, choices.model[field.name], (v) => (field.name === "cell" ? v.toUpperCase() : v));
    // a bound the server sets: data-max-limit names its setting; model_bounds the config's own
    if (field.dataset.maxLimit) field.max = String(choices.limits[field.dataset.maxLimit]);
    const bounds = choices.model_bounds?.[field.name] ?? {};
    if (bounds.min !== undefined) field.min = String(bounds.min);
    if (bounds.max !== undefined && !field.dataset.maxLimit) field.max = String(bounds.max);
  }
  options($("task"), tasks.map((task) => task.name), (name) => taskNamed(catalogue, name).title || name);
  $("presets").replaceChildren(...presets.map((preset) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = preset.title || preset.name;
    if (preset.description) button.title = preset.description;
    button.dataset.preset = preset.name;
    button.addEventListener("click", () => choosePreset(preset));
    return button;
  }));
}

/** While a shapes-only preset is on show the task menu says so: an option of its own, not a choice. */
function showNoTask(shown) {
  const option = $("task").querySelector('option[value=""]');
  if (!shown) {
    option?.remove();
    return;
  }
  if (option) return;
  const noTask = document.createElement("option");
  noTask.value = "";
  noTask.textContent = "No task (shapes only)";
  noTask.disabled = true;
  $("task").prepend(noTask);
}

/* ---------- the task's parameters ---------- */

/**
 * One labelled control per task parameter (kind int | float | choice | bool | text). Long text
 * defaults (a shipped corpus) are not sent by the server; an empty text box then means "the
 * task's own text".
 */
function buildParams(task) {
  const box = $("task-params");
  box.replaceChildren();
  paramsTask = task?.name ?? "";
  if (!task) return;
  for (const [name, param] of Object.entries(task.params || {})) {
    const id = `param-${name}`;
    const wrap = document.createElement("div");
    wrap.className = param.kind === "bool" ? "param check-param" : "param";
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = name.replaceAll("_", " ");
    label.title = param.description || "";
    let control;
    if (param.kind === "choice") {
      control = document.createElement("select");
      options(control, param.choices || []);
    } else if (param.kind === "bool") {
      control = document.createElement("input");
      control.type = "checkbox";
    } else if (param.kind === "text") {
      control = document.createElement("textarea");
      control.rows = 3;
      control.placeholder = param.default === null ? "(the task's own text)" : "";
      if (param.max) control.maxLength = param.max;
    } else {
      control = document.createElement("input");
      control.type = "number";
      control.step = param.kind === "int" ? "1" : "any";
      if (param.min !== undefined && param.min !== null) control.min = String(param.min);
      if (param.max !== undefined && param.max !== null) control.max = String(param.max);
    }
    control.id = id;
    control.dataset.param = name;
    control.dataset.kind = param.kind;
    if (param.description) control.setAttribute("aria-description", param.description);
    control.addEventListener("change", () => {
      set({ params: changedParams(task, readParams()) });
      handlers.run();
    });
    if (param.kind === "bool") wrap.append(control, label);
    else wrap.append(label, control);
    box.append(wrap);
  }
}

/** The parameters of the form, typed; empty text boxes and unreadable numbers are left out. */
function readParams() {
  const params = {};
  for (const control of $("task-params").querySelectorAll("[data-param]")) {
    const { param: name, kind } = control.dataset;
    if (kind === "bool") params[name] = control.checked;
    else if (kind === "int" || kind === "float") {
      const value = kind === "int" ? Number.parseInt(control.value, 10) : Number.parseFloat(control.value);
      if (Number.isFinite(value)) params[name] = value;
    } else if (kind === "text") {
      if (control.value !== "") params[name] = control.value;
    } else params[name] = control.value;
  }
  return params;
}

function showParams(task, params) {
  for (const control of $("task-params").querySelectorAll("[data-param]")) {
    if (control === document.activeElement) continue;
    const name = control.dataset.param;
    const value = params[name] ?? task.params[name].default;
    if (control.dataset.kind === "bool") control.checked = value === true;
    else control.value = value === null || value === undefined ? "" : String(value);
  }
}

/** Keeps the sidebar showing the state (keys: catalogue, task, preset, params, sampleSeed, config, busy). */
export function update(current) {
  $("run").disabled = current.busy > 0;
  $("stream").disabled = current.busy > 0;
  const { catalogue } = current;
  if (!catalogue) return;
  if (catalogue !== builtCatalogue) {
    buildChoices(catalogue);
    builtCatalogue = catalogue;
  }
  const { task, preset } = sampleSource(catalogue, current.task, current.preset);
  if ((task?.name ?? "") !== paramsTask) buildParams(task);
  showNoTask(!task);
  $("task").value = task?.name ?? "";
  const shown = preset || catalogue.presets.find((p) => p.name === current.preset);
  const noTask = preset ? " It has no task: the page runs the model forward on the preset's example inputs (no targets, so no loss and no backward pass)." : "";
  $("task-description").textContent = (shown?.description || task?.description || "") + noTask;
  for (const button of $("presets").children) button.setAttribute("aria-pressed", button.dataset.preset === current.preset ? "true" : "false");
  if (task) showParams(task, current.params);
  if ($("sample-seed") !== document.activeElement) $("sample-seed").value = String(current.sampleSeed);
  showModelFields(current);
}
