// The transport bar (play, step, scrub, pass, speed, unit, layer), the matrix choice, the tabs
// and the help dialog. They move the cursor or write to the store, and show the store's values.

import { goTo, selectUnit, setPhase, step, togglePlay } from "../cursor.js";
import { SPEEDS, WEIGHT_MATRICES, set } from "../state.js";
import { stepLabel } from "../step-label.js";

const $ = (id) => document.getElementById(id);

let lastT = -1;
let lastLength = -1;
let lastShown = "";

function options(select, values, label) {
  select.replaceChildren(...values.map((value) => {
    const option = document.createElement("option");
    option.value = String(value);
    option.textContent = label(value);
    return option;
  }));
}

export function init() {
  options($("speed"), SPEEDS, (speed) => `${speed}/s`);
  options($("weight-choice"), WEIGHT_MATRICES, (name) => name);
  $("play").addEventListener("click", togglePlay);
  $("step-back").addEventListener("click", () => step(-1));
  $("step-forward").addEventListener("click", () => step(1));
  $("scrub").addEventListener("input", () => goTo(Number($("scrub").value)));
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
}

function showLayers(count) {
  const select = $("layer");
  if (select.options.length === count) return;
  lastShown = ""; // the new options need the selection written again
  options(select, Array.from({ length: count }, (_, k) => k), (k) => String(k + 1));
}

/** Keeps the controls showing the state; runs on every timestep while playing. */
export function update(current) {
  const trace = current.trace;
  // the sequence's own end: a sequence of a padded batch stops at its last real step
  const T = trace?.length ?? 0;
  const play = $("play");
  const pressed = current.playing ? "true" : "false";
  if (play.getAttribute("aria-pressed") !== pressed) {
    play.setAttribute("aria-pressed", pressed);
    play.setAttribute("aria-label", current.playing ? "Pause" : "Play");
    play.firstElementChild.textContent = current.playing ? "❚❚" : "▶";
  }
  if (current.t !== lastT || T !== lastLength) {
    const scrub = $("scrub");
    scrub.max = String(Math.max(0, T - 1));
    scrub.value = String(current.t);
    scrub.setAttribute("aria-valuetext", stepLabel(current.t, T));
    $("t-label").textContent = stepLabel(current.t, T);
    lastT = current.t;
    lastLength = T;
  }
  if (trace) {
    showLayers(trace.L);
    $("unit").max = String(trace.H - 1);
  }
  // Only what changed is written.
  const shown = `${current.phase}|${current.unit}|${current.speed}|${current.layer}|${current.weight}|${current.tab}|${Boolean(trace?.hasBackward)}`;
  if (shown === lastShown) return;
  lastShown = shown;
  for (const radio of document.querySelectorAll('input[name="phase"]')) {
    radio.checked = radio.value === current.phase;
    if (radio.value === "backward") radio.disabled = !trace?.hasBackward;
  }
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
