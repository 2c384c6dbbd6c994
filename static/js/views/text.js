// The character model's text, each character coloured by the selected unit's activation, the
// top-k next-character predictions of the current step, and sampled continuations.

import { traceKey } from "./common.js";

let el = null;
let builtKey = "";
let spans = [];
let topkEl = null;
let sampledEl = null;
let temperatureEl = null;
let lengthEl = null;
let currentSpan = null;
let requestSample = async () => "";

export function init(element, sampler) {
  el = element;
  requestSample = sampler;
  const p = document.createElement("p");
  p.className = "empty";
  p.textContent = "Pick a character-level task to read the text through a unit's eyes.";
  el.replaceChildren(p);
}

const show = (c) => (c === " " ? "␣" : c === "\n" ? "⏎" : c);

// blue–white–orange, as the heatmaps; v in [−1, 1]
function colour(v) {
  const a = Math.max(-1, Math.min(1, v));
  const [r, g, b] = a < 0 ? [43, 92, 138] : [179, 88, 6];
  const w = Math.abs(a);
  const mix = (c) => Math.round(247 + (c - 247) * w);
  return `rgb(${mix(r)},${mix(g)},${mix(b)})`;
}

function characters(trace) {
  const vocab = trace.meta.vocab;
  return trace.inputs.map((row) => vocab[row.indexOf(Math.max(...row))]);
}

function build(trace, state) {
  spans = [];
  const heading = document.createElement("p");
  heading.className = "check";
  heading.textContent = `Coloured by unit ${state.unit} of layer ${state.layer + 1} (blue −, orange +). Click a character to go to its step.`;
  const chars = document.createElement("div");
  chars.className = "chars";
  const layer = trace.layers[state.layer];
  let m = 1e-9;
  for (const row of layer.H) m = Math.max(m, Math.abs(row[state.unit]));
  characters(trace).forEach((c, t) => {
    const span = document.createElement("span");
    span.textContent = c;
    span.dataset.t = String(t);
    span.style.backgroundColor = colour(layer.H[t][state.unit] / m);
    span.title = `t=${t} ${show(c)}: H[${state.unit}] = ${layer.H[t][state.unit].toFixed(3)}`;
    chars.append(span);
    spans.push(span);
  });
  chars.addEventListener("click", (event) => {
    const t = event.target?.dataset?.t;
    if (t !== undefined) el.dispatchEvent(new CustomEvent("pick-step", { bubbles: true, detail: Number(t) }));
  });
  topkEl = document.createElement("div");
  topkEl.className = "topk";
  topkEl.setAttribute("aria-label", "Most likely next characters");
  const controls = document.createElement("div");
  controls.className = "sample-controls";
  const tLabel = document.createElement("label");
  tLabel.htmlFor = "temperature";
  tLabel.textContent = "Temperature";
  temperatureEl = document.createElement("input");
  temperatureEl.type = "range";
  temperatureEl.id = "temperature";
  temperatureEl.min = "0.1";
  temperatureEl.max = "2";
  temperatureEl.step = "0.1";
  temperatureEl.value = "0.8";
  const tValue = document.createElement("output");
  tValue.textContent = "0.8";
  temperatureEl.addEventListener("input", () => { tValue.textContent = temperatureEl.value; });
  const lLabel = document.createElement("label");
  lLabel.htmlFor = "sample-chars";
  lLabel.textContent = "Chars";
  lengthEl = document.createElement("input");
  lengthEl.type = "number";
  lengthEl.id = "sample-chars";
  lengthEl.min = "1";
  lengthEl.max = "200";
  lengthEl.value = "40";
  lengthEl.style.width = "60px";
  const button = document.createElement("button");
  button.type = "button";
  button.id = "sample-text";
  button.textContent = "Sample a continuation";
  sampledEl = document.createElement("div");
  sampledEl.className = "sampled";
  sampledEl.setAttribute("aria-live", "polite");
  button.addEventListener("click", async () => {
    button.disabled = true;
    sampledEl.textContent = "…";
    try {
      sampledEl.textContent = await requestSample(Number(temperatureEl.value), Number(lengthEl.value));
    } catch (error) {
      sampledEl.textContent = `Sampling failed: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  });
  controls.append(tLabel, temperatureEl, tValue, lLabel, lengthEl, button);
  el.replaceChildren(heading, chars, topkEl, controls, sampledEl);
}

function showTopK(trace, t) {
  topkEl.replaceChildren();
  const probs = trace.sequence ? trace.outputs[t] : t === trace.T - 1 ? trace.outputs[0] : null;
  const label = document.createElement("span");
  label.textContent = `after t=${t}:`;
  label.style.background = "none";
  topkEl.append(label);
  if (!probs) return;
  const order = probs.map((p, k) => [p, k]).sort((a, b) => b[0] - a[0]).slice(0, 5);
  for (const [p, k] of order) {
    const item = document.createElement("span");
    item.textContent = `${show(trace.meta.vocab[k])} ${(p * 100).toFixed(1)}%`;
    topkEl.append(item);
  }
}

export function update(state, trace) {
  if (!trace) return;
  const vocab = trace.meta?.vocab;
  if (!vocab || vocab.length !== trace.D || trace.config.head !== "softmax") {
    if (builtKey !== "none") {
      init(el, requestSample);
      el.firstChild.textContent = "This task is not a character model: pick a text task to see the text view.";
    }
    builtKey = "none";
    return;
  }
  const key = `${traceKey(trace)}|${state.unit}|${state.layer}`;
  if (key !== builtKey) {
    build(trace, state);
    builtKey = key;
    currentSpan = null;
  }
  currentSpan?.classList.remove("current");
  currentSpan = spans[state.t] || null;
  currentSpan?.classList.add("current");
  showTopK(trace, state.t);
}
