// The character model's text, each character coloured by the selected unit's activation, the
// top-k next-character predictions of the current step, and a sampled continuation of a prompt
// (empty: of the text on show), asked of the page with the prompt, temperature, top-k and
// length chosen here; the text, its seed and probabilities come back in the state.

import { fmt, traceKey } from "./common.js";
import { diverging } from "./colour.js";

let el = null;
let intents = {};
let builtKey = "";
let spans = [];
let currentSpan = null;
const parts = {}; // the view's elements, made once

const show = (c) => (c === " " ? "␣" : c === "\n" ? "⏎" : c);

function node(tag, attrs = {}, text = undefined) {
  const e = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) e.setAttribute(name, value);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** intents: {pickStep(t), sample(temperature, count, prompt, topK)} */
export function init(element, callbacks) {
  el = element;
  intents = callbacks;
  parts.empty = node("p", { class: "empty" }, "Pick a character-level task to read the text through a unit's eyes.");
  parts.heading = node("p", { class: "check" });
  parts.chars = node("div", { class: "chars" });
  parts.chars.addEventListener("click", (event) => {
    const t = event.target?.dataset?.t;
    if (t !== undefined) intents.pickStep(Number(t));
  });
  parts.topk = node("div", { class: "topk", "aria-label": "Most likely next characters" });
  parts.temperature = node("input", { type: "range", id: "temperature", min: "0.1", max: "2", step: "0.1", value: "0.8" });
  const temperatureValue = node("output", {}, "0.8");
  parts.temperature.addEventListener("input", () => { temperatureValue.textContent = parts.temperature.value; });
  parts.length = node("input", { type: "number", id: "sample-chars", min: "1", max: "200", value: "40" });
  parts.length.style.width = "60px";
  parts.topK = node("input", { type: "number", id: "sample-top-k", min: "1", step: "1", placeholder: "all" });
  parts.topK.style.width = "60px";
  parts.prompt = node("input", { type: "text", id: "sample-prompt", placeholder: "empty: the text on show", autocomplete: "off" });
  parts.button = node("button", { type: "button", id: "sample-text" }, "Sample a continuation");
  parts.button.addEventListener("click", () => {
    const topK = Number(parts.topK.value) >= 1 ? Math.floor(Number(parts.topK.value)) : null;
    intents.sample(Number(parts.temperature.value), Number(parts.length.value), parts.prompt.value, topK);
  });
  parts.prompt.addEventListener("keydown", (event) => { if (event.key === "Enter") parts.button.click(); });
  parts.controls = node("div", { class: "sample-controls" });
  parts.controls.append(
    node("label", { for: "sample-prompt" }, "Prompt"), parts.prompt,
    node("label", { for: "temperature" }, "Temperature"), parts.temperature, temperatureValue,
    node("label", { for: "sample-top-k" }, "Top-k"), parts.topK,
    node("label", { for: "sample-chars" }, "Chars"), parts.length, parts.button,
  );
  parts.sampled = node("div", { class: "sampled", "aria-live": "polite" });
  parts.sampledPrompt = node("span", { class: "prompt" });
  parts.continuation = node("span", { class: "continuation" });
  parts.seed = node("span", { class: "seed" });
  parts.sampled.append(parts.sampledPrompt, parts.continuation, parts.seed);
  el.replaceChildren(parts.empty, parts.heading, parts.chars, parts.topk, parts.controls, parts.sampled);
  showText(false);
}

function showText(visible) {
  parts.empty.hidden = visible;
  for (const name of ["heading", "chars", "topk", "controls", "sampled"]) parts[name].hidden = !visible;
}

function characters(trace) {
  const vocab = trace.meta.vocab;
  return trace.inputs.map((row) => vocab[row.indexOf(Math.max(...row))]);
}

function build(trace, state) {
  const layer = trace.layers[state.layer];
  let m = 1e-9;
  for (const row of layer.H) m = Math.max(m, Math.abs(row[state.unit]));
  parts.heading.textContent = `Coloured by H_t[unit ${state.unit}] of layer ${state.layer + 1}: blue −${fmt(m, 2)} … white 0 … orange +${fmt(m, 2)}. Click a character to go to its step.`;
  spans = characters(trace).map((c, t) => {
    const span = node("span", { "data-t": String(t) }, c);
    span.style.backgroundColor = diverging(layer.H[t][state.unit], m);
    span.title = `t=${t} ${show(c)}: H[${state.unit}] = ${layer.H[t][state.unit].toFixed(3)}`;
    return span;
  });
  parts.chars.replaceChildren(...spans);
}

function showTopK(trace, t) {
  const probs = trace.sequence ? trace.outputs[t] : t === trace.T - 1 ? trace.outputs[0] : null;
  const label = node("span", {}, `after t=${t}:`);
  label.style.background = "none";
  const items = [label];
  if (probs) {
    const order = Array.from(probs, (p, k) => [p, k]).sort((a, b) => b[0] - a[0]).slice(0, 5);
    for (const [p, k] of order) items.push(node("span", {}, `${show(trace.meta.vocab[k])} ${(p * 100).toFixed(1)}%`));
  }
  parts.topk.replaceChildren(...items);
}

export function update(state, trace) {
  if (!trace) return;
  const vocab = trace.meta?.vocab;
  if (!vocab || vocab.length !== trace.D || trace.config.head !== "softmax") {
    if (builtKey !== "none") {
      parts.empty.textContent = "This model does not read characters: pick a text task to see the text view.";
      showText(false);
    }
    builtKey = "none";
    return;
  }
  const key = `${traceKey(trace)}|${state.unit}|${state.layer}`;
  if (key !== builtKey) {
    build(trace, state);
    showText(true);
    builtKey = key;
    currentSpan = null;
  }
  currentSpan?.classList.remove("current");
  currentSpan = spans[state.t] || null;
  currentSpan?.classList.add("current");
  showTopK(trace, state.t);
  // a continuation belongs to the text it continues
  const sampled = state.sampled.traceId === trace.id ? state.sampled : null;
  parts.sampledPrompt.textContent = sampled?.prompt ?? "";
  parts.continuation.textContent = sampled?.text ?? "";
  parts.seed.textContent = sampled?.seed != null ? ` (seed ${sampled.seed})` : "";
  parts.button.disabled = state.sampled.pending;
  const longest = state.catalogue?.choices?.limits?.max_generate_length;
  if (longest) parts.length.max = String(longest);
}
