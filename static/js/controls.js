// The controls: the sidebar form, the transport bar, the tabs, the help dialog and the keyboard
// shortcuts. They write to the state (or call main's handlers); they never draw a view.

import { set, state } from "./state.js";

const $ = (id) => document.getElementById(id);

let handlers = {};
let lastT = -1;
let lastShown = "";
let player = 0;
let lastFrame = 0;
let carry = 0;

export function init(callbacks) {
  handlers = callbacks;
  $("config-form").addEventListener("submit", (event) => {
    event.preventDefault();
    handlers.run();
  });
  $("stream").addEventListener("click", () => handlers.stream());
  $("task").addEventListener("change", () => handlers.pickTask($("task").value));
  $("cell").addEventListener("change", syncNonlinearity);
  $("import-weights").addEventListener("change", () => {
    const file = $("import-weights").files[0];
    if (file) handlers.importWeights(file);
    $("import-weights").value = "";
  });
  $("download-weights").addEventListener("click", () => handlers.download("weights"));
  $("download-json").addEventListener("click", () => handlers.download("json"));
  $("download-csv").addEventListener("click", () => handlers.download("csv"));
  $("sample-seed").addEventListener("change", () => handlers.resample());

  $("play").addEventListener("click", togglePlay);
  $("step-back").addEventListener("click", () => step(-1));
  $("step-forward").addEventListener("click", () => step(1));
  $("scrub").addEventListener("input", () => set({ t: Number($("scrub").value) }));
  $("speed").addEventListener("change", () => set({ speed: Number($("speed").value) }));
  for (const radio of document.querySelectorAll('input[name="phase"]')) {
    radio.addEventListener("change", () => setPhase(radio.value));
  }
  $("unit").addEventListener("change", () => selectUnit(Number($("unit").value)));
  $("layer").addEventListener("change", () => set({ layer: Number($("layer").value) }));
  $("weight-choice").addEventListener("change", () => set({ weight: $("weight-choice").value }));

  const tabs = [...document.querySelectorAll('[role="tab"]')];
  for (const tab of tabs) {
    tab.addEventListener("click", () => set({ tab: tab.dataset.tab }));
    tab.addEventListener("keydown", (event) => {
      const k = tabs.indexOf(tab);
      const next = event.key === "ArrowRight" ? k + 1 : event.key === "ArrowLeft" ? k - 1 : null;
      if (next === null) return;
      event.preventDefault();
      const target = tabs[(next + tabs.length) % tabs.length];
      target.focus();
      set({ tab: target.dataset.tab });
    });
  }
  $("help-open").addEventListener("click", () => $("help").showModal());
  // on a tablet the form sits above the views: folded away until asked for
  $("sidebar-toggle").addEventListener("click", () => foldSidebar($("sidebar-toggle").getAttribute("aria-expanded") === "true"));
  if (window.matchMedia("(max-width: 1100px)").matches) foldSidebar(true);
  document.addEventListener("keydown", onKey);
}

function foldSidebar(folded) {
  $("sidebar-toggle").setAttribute("aria-expanded", folded ? "false" : "true");
  document.querySelector(".sidebar").classList.toggle("collapsed", folded);
}

function syncNonlinearity() {
  const gated = $("cell").value !== "rnn";
  $("nonlinearity").disabled = gated;
  if (gated) $("nonlinearity").value = "tanh";
  const lstm = $("cell").value === "lstm";
  $("forget-bias").disabled = !lstm;
  if (!lstm) $("forget-bias").value = "0";
}

/** The model fields of the form (the task supplies the rest of the config). */
export function readModelForm() {
  const integer = (id, fallback) => {
    const n = Number.parseInt($(id).value, 10);
    return Number.isFinite(n) ? n : fallback;
  };
  return {
    cell: $("cell").value,
    nonlinearity: $("cell").value === "rnn" ? $("nonlinearity").value : "tanh",
    hidden_size: integer("hidden-size", 16),
    num_layers: integer("num-layers", 1),
    init: $("init").value,
    seed: integer("seed", 0),
    forget_bias: $("cell").value === "lstm" ? forgetBias($("forget-bias").value) : 0,
  };
}

/** A forget-gate bias from text: a finite number in [-10, 10], else 0. */
export function forgetBias(text) {
  const value = Number.parseFloat(text);
  return Number.isFinite(value) && Math.abs(value) <= 10 ? value : 0;
}

export function writeModelForm(config) {
  $("cell").value = config.cell ?? "rnn";
  $("nonlinearity").value = config.nonlinearity ?? "tanh";
  $("hidden-size").value = String(config.hidden_size ?? 16);
  $("num-layers").value = String(config.num_layers ?? 1);
  $("init").value = config.init ?? "pytorch";
  $("seed").value = String(config.seed ?? 0);
  $("forget-bias").value = String(config.forget_bias ?? 0);
  syncNonlinearity();
}

export function readSampleSeed() {
  const seed = Number.parseInt($("sample-seed").value, 10);
  return Number.isFinite(seed) && seed >= 0 ? seed : 0;
}

export function writeSampleSeed(seed) {
  $("sample-seed").value = String(seed);
}

/**
 * One labelled control per task parameter (kind int | float | choice | bool | text), showing
 * `values` where given and the default otherwise. Long text defaults (a shipped corpus) are not
 * sent by the server; an empty text box then means "the task's own text".
 */
export function setTaskParams(spec, values) {
  const box = $("task-params");
  box.replaceChildren();
  for (const [name, param] of Object.entries(spec || {})) {
    const id = `param-${name}`;
    const wrap = document.createElement("div");
    wrap.className = param.kind === "bool" ? "param check-param" : "param";
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = name.replaceAll("_", " ");
    label.title = param.description || "";
    let control;
    const value = values[name] ?? param.default;
    if (param.kind === "choice") {
      control = document.createElement("select");
      for (const choice of param.choices || []) {
        const option = document.createElement("option");
        option.value = choice;
        option.textContent = choice;
        control.append(option);
      }
      control.value = String(value);
    } else if (param.kind === "bool") {
      control = document.createElement("input");
      control.type = "checkbox";
      control.checked = value === true || value === "true";
    } else if (param.kind === "text") {
      control = document.createElement("textarea");
      control.rows = 3;
      control.placeholder = param.default === null ? "(the task's own text)" : "";
      if (param.max) control.maxLength = param.max;
      control.value = value === null || value === undefined ? "" : String(value);
    } else {
      control = document.createElement("input");
      control.type = "number";
      control.step = param.kind === "int" ? "1" : "any";
      if (param.min !== undefined) control.min = String(param.min);
      if (param.max !== undefined) control.max = String(param.max);
      control.value = String(value);
    }
    control.id = id;
    control.dataset.param = name;
    control.dataset.kind = param.kind;
    if (param.description) control.setAttribute("aria-description", param.description);
    control.addEventListener("change", () => handlers.resample());
    if (param.kind === "bool") wrap.append(control, label);
    else wrap.append(label, control);
    box.append(wrap);
  }
}

/** The task parameters of the form, typed; empty text boxes are left out. */
export function readTaskParams() {
  const params = {};
  for (const control of $("task-params").querySelectorAll("[data-param]")) {
    const name = control.dataset.param;
    const kind = control.dataset.kind;
    if (kind === "bool") params[name] = control.checked;
    else if (kind === "int") {
      const n = Number.parseInt(control.value, 10);
      if (Number.isFinite(n)) params[name] = n;
    } else if (kind === "float") {
      const x = Number.parseFloat(control.value);
      if (Number.isFinite(x)) params[name] = x;
    } else if (kind === "text") {
      if (control.value !== "") params[name] = control.value;
    } else params[name] = control.value;
  }
  return params;
}

/** The task select and the preset buttons. */
export function setTasks(tasks, presets, current) {
  const select = $("task");
  select.replaceChildren();
  for (const task of tasks) {
    const option = document.createElement("option");
    option.value = task.name;
    option.textContent = task.title || task.name;
    select.append(option);
  }
  select.value = current;
  const box = $("presets");
  box.replaceChildren();
  for (const preset of presets) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = preset.title || preset.name;
    if (preset.description) button.title = preset.description;
    button.dataset.preset = preset.name;
    button.addEventListener("click", () => handlers.applyPreset(preset));
    box.append(button);
  }
}

export function setTaskDescription(text) {
  $("task-description").textContent = text || "";
}

export function setLayers(count) {
  const select = $("layer");
  if (select.options.length !== count) {
    lastShown = ""; // the new options need the selection written again
    select.replaceChildren();
    for (let k = 0; k < count; k++) {
      const option = document.createElement("option");
      option.value = String(k);
      option.textContent = String(k + 1);
      select.append(option);
    }
  }
}

export function setBusy(busy) {
  $("run").disabled = busy;
  $("stream").disabled = busy;
  document.body.setAttribute("aria-busy", busy ? "true" : "false");
}

function step(delta) {
  const T = handlers.length();
  if (!T) return;
  set({ t: Math.max(0, Math.min(T - 1, state.t + delta)) });
}

function selectUnit(unit) {
  const H = handlers.hiddenSize() || 1;
  set({ unit: Math.max(0, Math.min(H - 1, Number.isFinite(unit) ? unit : 0)) });
}

function setPhase(phase) {
  if (phase === "backward" && !handlers.hasBackward()) return;
  set({ phase });
}

export function togglePlay() {
  if (state.playing) {
    set({ playing: false });
    return;
  }
  const T = handlers.length();
  if (!T) return;
  // from the end of a pass, play it again from its start
  if (state.phase === "forward" && state.t >= T - 1) set({ t: 0 });
  if (state.phase === "backward" && state.t <= 0) set({ t: T - 1 });
  set({ playing: true });
}

/** The play loop: steps at `speed` per second; forward runs into backward, then stops. */
function tick(now) {
  if (!state.playing) {
    player = 0;
    return;
  }
  const T = handlers.length();
  const elapsed = lastFrame ? now - lastFrame : 0;
  lastFrame = now;
  carry += (elapsed / 1000) * state.speed;
  if (carry >= 1) {
    const steps = Math.floor(carry);
    carry -= steps;
    if (state.phase === "forward") {
      if (state.t + steps <= T - 1) set({ t: state.t + steps });
      else if (handlers.hasBackward()) set({ phase: "backward", t: T - 1 });
      else set({ t: T - 1, playing: false });
    } else if (state.t - steps >= 0) set({ t: state.t - steps });
    else set({ t: 0, playing: false });
  }
  player = requestAnimationFrame(tick);
}

function onKey(event) {
  const target = event.target;
  const typing = target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName)) &&
    !(target instanceof HTMLInputElement && ["range", "radio", "checkbox", "button"].includes(target.type));
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  if ($("help").open) return;
  const T = handlers.length();
  const isRange = target instanceof HTMLInputElement && target.type === "range";
  switch (event.key) {
    case " ":
      if (target instanceof HTMLButtonElement) return; // space presses the focused button
      event.preventDefault();
      togglePlay();
      break;
    case "ArrowLeft":
      if (isRange || target.getAttribute?.("role") === "tab") return;
      event.preventDefault();
      step(-1);
      break;
    case "ArrowRight":
      if (isRange || target.getAttribute?.("role") === "tab") return;
      event.preventDefault();
      step(1);
      break;
    case "Home":
      if (isRange) return;
      event.preventDefault();
      if (T) set({ t: 0 });
      break;
    case "End":
      if (isRange) return;
      event.preventDefault();
      if (T) set({ t: T - 1 });
      break;
    case "ArrowUp":
      if (isRange || target.getAttribute?.("type") === "radio") return;
      event.preventDefault();
      selectUnit(state.unit + 1);
      break;
    case "ArrowDown":
      if (isRange || target.getAttribute?.("type") === "radio") return;
      event.preventDefault();
      selectUnit(state.unit - 1);
      break;
    case "b":
    case "B":
      setPhase(state.phase === "forward" ? "backward" : "forward");
      break;
    case "?":
      $("help").showModal();
      break;
    default:
  }
}

/** Keeps the controls showing the state. */
export function update(current, T) {
  if (current.playing && !player) {
    lastFrame = 0;
    carry = 0;
    player = requestAnimationFrame(tick);
  }
  const play = $("play");
  const pressed = current.playing ? "true" : "false";
  if (play.getAttribute("aria-pressed") !== pressed) {
    play.setAttribute("aria-pressed", pressed);
    play.setAttribute("aria-label", current.playing ? "Pause" : "Play");
    play.firstElementChild.textContent = current.playing ? "❚❚" : "▶";
  }
  const scrub = $("scrub");
  const max = String(Math.max(0, (T || 1) - 1));
  if (scrub.max !== max) scrub.max = max;
  if (current.t !== lastT || scrub.dataset.length !== String(T || 0)) {
    scrub.dataset.length = String(T || 0);
    scrub.value = String(current.t);
    scrub.setAttribute("aria-valuetext", `timestep ${current.t} of ${T || 0}`);
    $("t-label").textContent = `t = ${current.t} / ${Math.max(0, (T || 1) - 1)}`;
    lastT = current.t;
  }
  // Only what changed is written: this runs on every timestep while playing.
  const shown = `${current.phase}|${current.unit}|${current.speed}|${current.layer}|${current.weight}|${current.tab}`;
  if (shown === lastShown) return;
  lastShown = shown;
  for (const radio of document.querySelectorAll('input[name="phase"]')) radio.checked = radio.value === current.phase;
  if (document.activeElement !== $("unit")) $("unit").value = String(current.unit);
  $("speed").value = String(current.speed);
  $("layer").value = String(current.layer);
  $("weight-choice").value = current.weight;
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const selected = tab.dataset.tab === current.tab;
    tab.setAttribute("aria-selected", selected ? "true" : "false");
    tab.tabIndex = selected ? 0 : -1;
    $(tab.getAttribute("aria-controls")).hidden = !selected;
  }
}
