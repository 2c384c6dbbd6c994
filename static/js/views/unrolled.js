// The unrolled network: x_t → H_t → O_t for a window of steps around the cursor, the recurrent
// edges H_{t-1} → H_t, and the three shared matrices drawn and named identically on every step.
// An overview strip (Plotly) below shows the whole sequence and where the window is.
//
// The diagram itself is plain SVG built once per window size and structure: a timestep step
// (even one that slides the window) only recolours ~4·size nodes and rewrites their labels,
// well under a millisecond, where a Plotly figure of the same marks needs 50–100 ms to restyle.

import { COLORS, asRow, axis, baseLayout, draw, fmt, norm, placeCursor, showEmpty, traceKey } from "./common.js";
import { DIVERGING, SEQUENTIAL, diverging, sequential } from "./colour.js";
import { stepLabel } from "../step-label.js";
import { setWindow } from "../time-window.js";
import { isPadding, outputAt, realOnly } from "../trace.js";
import { buildGated, paintGated } from "./unrolled-gates.js";

const SVG = "http://www.w3.org/2000/svg";
const STEP_PIXELS = 66; // horizontal room one unrolled step needs to stay readable
const LEFT = 46; // room for the row names
const NODE = 13; // node radius in pixels
const SUPERSCRIPTS = ["⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"];

let el = null;
let overviewEl = null;
let onPick = () => {};
let onWeight = () => {};
let svg = null;
let parts = null; // the SVG elements of the current structure
let structureKey = "";
let overviewKey = "";
let windowStart = -1;
let windowSize = 0;

/** pick(t): a click moves the cursor; lightWeight(name, layer): an arrow of a shared matrix is pointed at ("" when left). */
export function init(element, overviewElement, pick, lightWeight = () => {}) {
  el = element;
  overviewEl = overviewElement;
  onPick = pick;
  onWeight = lightWeight;
  showEmpty(el, "Build & run a model to see the network unrolled in time.");
  // the diagram's size, kept by the observer: reading clientWidth on every step would force a
  // layout of the page in the middle of the views' updates
  if (typeof ResizeObserver !== "undefined") new ResizeObserver(() => { box = null; }).observe(el);
}

let box = null; // {width, height} of the diagram's element, until it resizes

function measured() {
  if (!box || !box.width) box = { width: el.clientWidth, height: el.clientHeight };
  return box;
}

/* ---------- layout ---------- */

function sizeFor(T) {
  return Math.min(T, Math.max(5, Math.floor(((measured().width || 800) - LEFT) / STEP_PIXELS)));
}

/**
 * The first step of the window showing t. Stepping re-centres it near its edges; playing turns
 * it a page at a time in the direction of play (t − 1 on the left going forward, t + 1 on the
 * right going backward), so that the charts following it move once per page, not every few steps.
 */
function startFor(t, T, size, playing, backward) {
  const margin = Math.min(2, Math.floor(size / 4));
  let start = windowStart;
  if (start >= 0 && playing && t >= start && t <= start + size - 1) return start;
  if (start >= 0 && playing && !backward && t > start + size - 1) start = t - 1;
  else if (start >= 0 && playing && backward && t < start) start = t - size + 2;
  else if (start < 0 || t < start + margin || t > start + size - 1 - margin) start = t - Math.floor(size / 2);
  return Math.max(0, Math.min(start, T - size));
}

function geometry(trace) {
  const width = measured().width || 800;
  const height = measured().height || 250;
  const slot = (width - LEFT - 8) / windowSize;
  // a bidirectional layer has two rows, its reverse direction's above its forward one
  const bidirectional = Boolean(trace.config.bidirectional);
  const rows = bidirectional ? 2 * trace.L + 2 : trace.L + 2; // x, H per layer (and H←), O
  const top = 62; // under the caption, the legend and the colour bar
  const bottom = height - 48;
  const gap = (bottom - top) / (rows - 1);
  const position = (row) => (!bidirectional || row === 0 ? row : row > trace.L ? rows - 1 : 2 * row - 1);
  return {
    width, height, slot, top, bottom, gap,
    x: (k) => LEFT + slot * (k + 0.5),
    y: (row) => bottom - position(row) * gap, // row 0: x, 1…L: H, L+1: O
    reverseY: (l) => bottom - 2 * (l + 1) * gap, // the reverse direction of layer l (0-based)
    // the top of layer l's rows, where what reads the layer starts
    layerTop: (l) => (bidirectional ? bottom - 2 * (l + 1) * gap : bottom - (l + 1) * gap),
  };
}

function make(tag, attrs = {}, parent = null) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (parent) parent.append(e);
  return e;
}

function arrowMarker(defs, id, colour) {
  const marker = make("marker", { id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 12, markerHeight: 12, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" }, defs);
  make("path", { d: "M0,0 L10,5 L0,10 z", fill: colour }, marker);
}

/** Builds the SVG for a window of `windowSize` slots (the structure; colours come later). */
function build(trace, backward, hasOutput, fromBefore) {
  const g = geometry(trace);
  svg = make("svg", { width: g.width, height: g.height, viewBox: `0 0 ${g.width} ${g.height}`, role: "group", class: "unrolled-svg" });
  // a group, not an image: the matrices' names inside take focus
  const title = make("title", {}, svg);
  title.textContent = "The network unrolled in time: inputs x_t, hidden states H_t and outputs O_t, with the same W_xh, W_hh and W_hq on every step";
  svg.setAttribute("aria-label", title.textContent);
  const defs = make("defs", {}, svg);
  for (const [name, colour] of [["xh", COLORS.W_xh], ["hh", COLORS.W_hh], ["hq", COLORS.W_hq]]) arrowMarker(defs, `arrow-${name}`, colour);
  // the veil: the card's white with a grey hatch, opaque, so no node colour shows through
  const hatch = make("pattern", { id: "veil-hatch", width: 8, height: 8, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" }, defs);
  make("rect", { width: 8, height: 8, fill: "#ffffff" }, hatch);
  make("line", { x1: 0, y1: 0, x2: 0, y2: 8, stroke: "#dfe2e8", "stroke-width": 2 }, hatch);
  const gradient = make("linearGradient", { id: "colour-bar-scale", x1: 0, x2: 1, y1: 0, y2: 0 }, defs);
  const scale = backward ? SEQUENTIAL : DIVERGING;
  for (const [offset, colour] of scale) make("stop", { offset, "stop-color": colour }, gradient);
  // the cursor's band and the veil go under / over the marks
  const band = make("rect", { class: "unrolled-band", y: 20, height: g.height - 46, rx: 6 }, svg);
  const edges = make("g", { class: "edges" }, svg);
  const nodes = make("g", { class: "nodes" }, svg);
  const labels = make("g", { class: "row-labels" }, svg);
  const rowName = (row, text, sub) => {
    const e = make("text", { x: 8, y: g.y(row) + 4, class: "row-name" }, labels);
    e.textContent = text;
    if (sub) make("tspan", { "baseline-shift": "super", "font-size": 12 }, e).textContent = sub;
  };
  rowName(0, "x_t");
  for (let l = 0; l < trace.L; l++) rowName(l + 1, "H_t", trace.L > 1 ? `(${l + 1})` : "");
  if (trace.config.bidirectional) {
    for (let l = 0; l < trace.L; l++) {
      const e = make("text", { x: 8, y: g.reverseY(l) + 4, class: "row-name" }, labels);
      e.textContent = "H←_t";
      if (trace.L > 1) make("tspan", { "baseline-shift": "super", "font-size": 12 }, e).textContent = `(${l + 1})`;
    }
  }
  rowName(trace.L + 1, "O_t");
  const arrowEnd = (name) => (backward ? { "marker-start": `url(#arrow-${name})` } : { "marker-end": `url(#arrow-${name})` });
  // each matrix's first name takes keyboard focus (one tab stop per matrix), lighting as pointing does
  const focusable = new Set();
  const edgeLabel = (x, y, text, colour, anchor, weight, layer) => {
    const e = make("text", { x, y, fill: colour, class: "edge-label", "text-anchor": anchor, "data-weight": weight, "data-layer": layer }, edges);
    e.textContent = text;
    if (!focusable.has(`${weight}${layer}`)) {
      focusable.add(`${weight}${layer}`);
      e.setAttribute("tabindex", "0");
      e.setAttribute("role", "button");
      e.setAttribute("aria-label", `${text}: the one matrix used at every step`);
    }
  };
  const slots = [];
  for (let k = 0; k < windowSize; k++) {
    const cx = g.x(k);
    const s = { hidden: [], recurrent: [] };
    for (let l = 0; l < trace.L; l++) {
      const below = (l === 0 ? g.y(0) : g.layerTop(l - 1)) - (l === 0 ? 10 : NODE);
      make("line", { x1: cx, y1: below - 2, x2: cx, y2: g.y(l + 1) + NODE + 2, stroke: COLORS.W_xh, "stroke-width": 2, class: "arrow", "data-weight": "W_xh", "data-layer": l, ...arrowEnd("xh") }, edges);
      // each layer has its own pair of matrices, shared over time: W_xh¹, W_hh¹, W_xh², …
      const layerMark = trace.L > 1 ? SUPERSCRIPTS[(l + 1) % 10] : "";
      edgeLabel(cx + 4, (below + g.y(l + 1)) / 2 + 3, `W_xh${layerMark}`, COLORS.text.W_xh, "start", "W_xh", l);
      if (k > 0 || fromBefore) {
        const x0 = k > 0 ? g.x(k - 1) + NODE + 2 : LEFT;
        s.recurrent.push(make("line", { x1: x0, y1: g.y(l + 1), x2: cx - NODE - 2, y2: g.y(l + 1), stroke: COLORS.W_hh, "stroke-width": 2, class: "arrow recurrent", "data-weight": "W_hh", "data-layer": l, ...arrowEnd("hh") }, edges));
        edgeLabel((x0 + cx) / 2, g.y(l + 1) - 6, `W_hh${layerMark}`, COLORS.text.W_hh, "middle", "W_hh", l);
      }
    }
    if (trace.config.bidirectional) buildReverse(trace, g, k, s, edges, nodes);
    if (hasOutput[k]) {
      const from = g.layerTop(trace.L - 1) - NODE - 2;
      make("line", { x1: cx, y1: from, x2: cx, y2: g.y(trace.L + 1) + NODE + 2, stroke: COLORS.W_hq, "stroke-width": 2, class: "arrow", "data-weight": "W_hq", "data-layer": trace.L - 1, ...arrowEnd("hq") }, edges);
      edgeLabel(cx + 4, (from + g.y(trace.L + 1)) / 2 + 3, "W_hq", COLORS.text.W_hq, "start", "W_hq", trace.L - 1);
    }
    // data-row names a node for a lesson's point: x, h1 … hL, o (paint adds its step, data-t)
    s.x = make("rect", { x: cx - 10, y: g.y(0) - 10, width: 20, height: 20, rx: 3, class: "node", tabindex: -1, "data-row": "x" }, nodes);
    make("title", {}, s.x);
    for (let l = 0; l < trace.L; l++) {
      const c = make("circle", { cx, cy: g.y(l + 1), r: NODE, class: "node", "data-row": `h${l + 1}` }, nodes);
      make("title", {}, c);
      s.hidden.push(c);
    }
    if (hasOutput[k]) {
      const cy = g.y(trace.L + 1);
      s.o = make("polygon", { points: `${cx},${cy - NODE - 2} ${cx + NODE + 2},${cy} ${cx},${cy + NODE + 2} ${cx - NODE - 2},${cy}`, class: "node", "data-row": "o" }, nodes);
      make("title", {}, s.o);
    }
    s.tick = make("text", { x: cx, y: g.height - 22, class: "tick", "text-anchor": "middle" }, svg);
    s.value = make("text", { x: cx, y: g.height - 8, class: "tick-value", "text-anchor": "middle" }, svg);
    slots.push(s);
  }
  const veilTop = g.top - NODE - 6;
  const veil = make("g", { class: "unrolled-veil" }, svg);
  const veilRect = make("rect", { y: veilTop, height: g.height - 30 - veilTop, fill: "url(#veil-hatch)" }, veil);
  const veilLabel = make("text", { y: (veilTop + g.height - 30) / 2, class: "veil-label", "text-anchor": "middle" }, veil);
  veilLabel.textContent = "not computed yet";
  const caption = make("text", { x: LEFT, y: 14, class: "unrolled-caption" }, svg);
  const legend = make("text", { x: LEFT, y: 30, class: "unrolled-legend" }, svg);
  const colourBar = buildColourBar(g, backward);
  // one matrix, many copies: pointing at any arrow (or its name) lights every copy of it
  const light = (target) => {
    for (const e of edges.querySelectorAll(".shared-lit")) e.classList.remove("shared-lit");
    const weight = target ? target.dataset.weight : "";
    if (weight) for (const e of edges.querySelectorAll(`[data-weight="${weight}"][data-layer="${target.dataset.layer}"]`)) e.classList.add("shared-lit");
    onWeight(weight, target ? Number(target.dataset.layer) : 0);
  };
  edges.addEventListener("mouseover", (event) => {
    if (event.target.dataset.weight) light(event.target);
  });
  edges.addEventListener("mouseout", (event) => {
    if (event.target.dataset.weight) light(null);
  });
  edges.addEventListener("focusin", (event) => {
    if (event.target.dataset.weight) light(event.target);
  });
  edges.addEventListener("focusout", (event) => {
    if (event.target.dataset.weight) light(null);
  });
  svg.addEventListener("click", (event) => {
    const x = event.offsetX;
    const k = Math.floor((x - LEFT) / g.slot);
    if (k >= 0 && k < windowSize) onPick(windowStart + k);
  });
  const gated = buildGated({ make, g, edges, nodes, trace, windowSize, fromBefore, left: LEFT });
  el.replaceChildren(svg);
  delete el.dataset.plotted;
  parts = { g, slots, band, veil, veilRect, veilLabel, caption, legend, colourBar, gated };
}

const BAR_WIDTH = 120;

/** The colour bar of the hidden nodes, top right: its title, the scale and three ticks. */
function buildColourBar(g, backward) {
  const x = g.width - BAR_WIDTH - 34;
  const group = make("g", { class: "colour-bar", "data-scale": backward ? "sequential" : "diverging" }, svg);
  const title = make("text", { x: x - 8, y: 14, class: "colour-bar-title", "text-anchor": "end" }, group);
  make("rect", { x, y: 4, width: BAR_WIDTH, height: 12, fill: "url(#colour-bar-scale)", stroke: "#3b4458", "stroke-width": 0.6 }, group);
  const ticks = [0, 0.5, 1].map((u) => make("text", { x: x + u * BAR_WIDTH, y: 30, class: "colour-bar-tick", "text-anchor": "middle" }, group));
  return { group, title, ticks };
}

/** Writes the colour bar's title and ticks for what the hidden nodes show now. */
function labelColourBar(trace, state, backward, layerRanges) {
  const { title, ticks } = parts.colourBar;
  const layer = Math.min(state.layer, trace.L - 1);
  if (backward) {
    const [lo, hi] = layerRanges[layer];
    title.textContent = "‖dL/dH_t‖ (log)";
    [lo, (lo + hi) / 2, hi].forEach((v, k) => { ticks[k].textContent = Number(10 ** v).toExponential(1); });
  } else {
    const m = trace.hiddenMax[layer];
    title.textContent = `H_t[unit ${state.unit}]`;
    [-m, 0, m].forEach((v, k) => { ticks[k].textContent = fmt(v, 2); });
  }
}

/** Colours, labels and hover titles of every slot for the window starting at `start`. */
function paint(trace, state, start, backward) {
  const { slots } = parts;
  const layerRanges = trace.layers.map((L) => {
    if (backward) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of L.dH_norm) {
        const lv = Math.log10(Math.max(v, 1e-12));
        lo = Math.min(lo, lv);
        hi = Math.max(hi, lv);
      }
      return [lo, hi];
    }
    return null;
  });
  const inputMax = trace.inputMax;
  const outMax = trace.outputMax;
  const classification = trace.config.head === "softmax";
  for (let k = 0; k < windowSize; k++) {
    const t = start + k;
    const s = slots[k];
    const x = trace.inputs[t];
    for (const node of [s.x, ...s.hidden, s.o]) node?.setAttribute("data-t", String(t));
    const xv = trace.D === 1 ? x[0] : norm(x);
    s.x.setAttribute("fill", trace.D === 1 ? diverging(xv, inputMax) : sequential(xv, 0, inputMax));
    s.x.firstChild.textContent = `x_${t} = [${x.slice(0, 6).map((v) => fmt(v, 2)).join(", ")}${trace.D > 6 ? ", …" : ""}]`;
    trace.layers.forEach((L, l) => {
      const node = s.hidden[l];
      const unit = l === state.layer ? state.unit : 0;
      if (backward) {
        const [lo, hi] = layerRanges[l];
        node.setAttribute("fill", sequential(Math.log10(Math.max(L.dH_norm[t], 1e-12)), lo, hi));
      } else node.setAttribute("fill", diverging(L.H[t][unit], trace.hiddenMax[l]));
      const lines = [`H_${t} (layer ${l + 1}) unit ${unit}: ${fmt(L.H[t][unit])}`, `‖H_${t}‖ = ${fmt(norm(L.H[t]))}`];
      if (L.dH_norm) lines.push(`‖dL/dH_${t}‖ = ${fmt(L.dH_norm[t])}`);
      node.firstChild.textContent = lines.join("\n");
    });
    if (s.reverse) paintReverse(trace, state, s, t, backward);
    if (s.o) {
      const out = outputAt(trace, t);
      if (backward && trace.dO) {
        const row = trace.sequence ? trace.dO[t] : trace.dO[0];
        const [lo, hi] = trace.dONormRange;
        s.o.setAttribute("fill", sequential(Math.log10(Math.max(norm(asRow(row)), 1e-12)), lo, hi));
      } else s.o.setAttribute("fill", classification ? sequential(Math.max(...out), 0, 1) : diverging(out[0], outMax));
      s.o.firstChild.textContent = `O_${t} = [${Array.from(out.slice(0, 5), (v) => fmt(v)).join(", ")}${trace.Q > 5 ? ", …" : ""}]`;
    }
    s.tick.textContent = `t=${t}`;
    const vocab = trace.meta.vocab;
    let value = "";
    if (vocab && trace.D === vocab.length) {
      const c = vocab[x.indexOf(Math.max(...x))];
      value = c === " " ? "␣" : c === "\n" ? "⏎" : c;
    } else if (trace.D <= 2) value = x.map((v) => fmt(v, 2)).join(",");
    s.value.textContent = value;
  }
  paintGated(parts.gated, trace, state, start, backward);
  paintPadding(trace, start);
  labelColourBar(trace, state, backward, layerRanges);
  // each node kind on one of the two scales, said with its range (the colour bar is H_t's)
  const signed = (m) => `blue −${fmt(m, 2)} … orange +${fmt(m, 2)}`;
  const inputColour = trace.D === 1 ? `its value, ${signed(inputMax)}` : `‖x_t‖, dark 0 … yellow ${fmt(inputMax, 2)}`;
  let outputColour = classification ? "p of the likeliest class, dark 0 … yellow 1" : `its value, ${signed(outMax)}`;
  if (backward) outputColour = "‖dL/dO_t‖ (log), dark … yellow";
  parts.legend.textContent = `◆ O_t: ${outputColour} · ■ x_t: ${inputColour}`;
  parts.direction = backward ? "the gradient flows right to left" : "the same three matrices at every step";
}

/**
 * The steps after the sequence's own end (a sequence of a padded batch): every node of theirs
 * hatched as padding, titled so, never coloured by a value.
 */
function paintPadding(trace, start) {
  for (let k = 0; k < windowSize; k++) {
    const t = start + k;
    const s = parts.slots[k];
    const padding = isPadding(trace, t);
    for (const node of [s.x, ...s.hidden, ...(s.reverse || []), s.o]) {
      if (!node) continue;
      node.classList.toggle("padding", padding);
      if (!padding) continue;
      node.setAttribute("fill", "url(#veil-hatch)");
      node.firstChild.textContent = `padding: step ${t} is after this sequence's end (its ${trace.length} steps are 0…${trace.length - 1})`;
    }
    if (padding) s.value.textContent = "";
  }
}

function moveCursor(state, start) {
  const { g, band, veilRect, veilLabel, slots } = parts;
  parts.caption.textContent = `${stepLabel(state.t, parts.T)} · ${parts.direction}`;
  const k = state.t - start;
  // the recurrent edge at work: H_{t−1} → H_t forward; dL/dH_{t+1} → dL/dH_t backward
  for (const edge of parts.active || []) edge.classList.remove("active");
  const into = state.phase === "forward" ? k : k + 1;
  parts.active = slots[into]?.recurrent || [];
  for (const edge of parts.active) edge.classList.add("active");
  band.setAttribute("x", g.x(k) - g.slot * 0.45);
  band.setAttribute("width", g.slot * 0.9);
  const [x0, x1] = state.phase === "forward" ? [g.x(k) + g.slot * 0.5, g.width] : [LEFT, g.x(k) - g.slot * 0.5];
  veilRect.setAttribute("x", x0);
  veilRect.setAttribute("width", Math.max(0, x1 - x0));
  veilLabel.setAttribute("x", (x0 + x1) / 2);
  veilLabel.setAttribute("display", x1 - x0 > 110 ? "inline" : "none");
}

/**
 * A bidirectional layer's reverse row in slot k: its nodes H←_t, and the recurrent edges that run
 * right to left, H←_{t+1} → H←_t (the reverse direction reads the sequence from its end).
 */
function buildReverse(trace, g, k, s, edges, nodes) {
  s.reverse = [];
  s.reverseEdges = [];
  const cx = g.x(k);
  for (let l = 0; l < trace.L; l++) {
    const y = g.reverseY(l);
    if (k < windowSize - 1) {
      const x0 = g.x(k + 1) - NODE - 2;
      s.reverseEdges.push(make("line", { x1: x0, y1: y, x2: cx + NODE + 2, y2: y, stroke: COLORS.W_hh, "stroke-width": 2, class: "arrow recurrent reverse", "data-weight": "W_hh_reverse", "data-layer": l, "marker-end": "url(#arrow-hh)" }, edges));
    }
    const c = make("circle", { cx, cy: y, r: NODE, class: "node reverse", "data-row": `hr${l + 1}` }, nodes);
    make("title", {}, c);
    s.reverse.push(c);
  }
}

/** The reverse rows' colours and titles at step t: H←_t, or ‖dL/dH←_t‖ on the backward pass. */
function paintReverse(trace, state, s, t, backward) {
  trace.layers.forEach((L, l) => {
    const node = s.reverse[l];
    const R = L.reverse;
    node.setAttribute("data-t", String(t));
    const unit = l === state.layer ? state.unit : 0;
    if (backward && R.dH) {
      const [lo, hi] = trace.reverseNormRange[l];
      node.setAttribute("fill", sequential(Math.log10(Math.max(norm(R.dH[t]), 1e-12)), lo, hi));
    } else node.setAttribute("fill", diverging(R.H[t][unit], trace.reverseMax[l]));
    const lines = [`H←_${t} (layer ${l + 1}, reverse) unit ${unit}: ${fmt(R.H[t][unit])}`, `‖H←_${t}‖ = ${fmt(norm(R.H[t]))}`];
    if (R.dH) lines.push(`‖dL/dH←_${t}‖ = ${fmt(norm(R.dH[t]))}`);
    node.firstChild.textContent = lines.join("\n");
  });
}

/** Per-trace scales, computed once per trace (the colour of a node must not depend on the window). */
function prepare(trace) {
  if (trace.hiddenMax) return;
  if (trace.config.bidirectional) {
    trace.reverseMax = trace.layers.map((L) => L.reverse.H.reduce((m, row) => Math.max(m, ...row.map(Math.abs)), 1e-9));
    trace.reverseNormRange = trace.layers.map((L) => {
      const logs = (L.reverse.dH || [[1]]).map((row) => Math.log10(Math.max(norm(row), 1e-12)));
      return [Math.min(...logs), Math.max(...logs)];
    });
  }
  trace.hiddenMax = trace.layers.map((L) => {
    let m = 1e-9;
    for (const row of L.H) for (const v of row) m = Math.max(m, Math.abs(v));
    return m;
  });
  trace.inputMax = trace.inputs.reduce((m, row) => Math.max(m, trace.D === 1 ? Math.abs(row[0]) : norm(row)), 1e-9);
  trace.outputMax = trace.outputs.reduce((m, row) => Math.max(m, Math.abs(row[0])), 1e-9);
  if (trace.dO) {
    const logs = trace.dO.map((row) => Math.log10(Math.max(norm(asRow(row)), 1e-12)));
    trace.dONormRange = [Math.min(...logs), Math.max(...logs)];
  }
}

/** A drag along the overview moves the cursor, and with it the window, to the step under the pointer. */
function dragToMove(element) {
  const stepAt = (event) => {
    const xa = element._fullLayout?.xaxis;
    if (!xa) return null;
    const box = element.getBoundingClientRect();
    const T = Math.round(xa.range[1] + 0.5);
    return Math.max(0, Math.min(T - 1, Math.round(xa.p2l(event.clientX - box.left - xa._offset))));
  };
  let dragging = false;
  element.addEventListener("pointerdown", (event) => {
    dragging = true;
    element.setPointerCapture?.(event.pointerId);
  });
  element.addEventListener("pointermove", (event) => {
    if (!dragging) return;
    const t = stepAt(event);
    if (t !== null) onPick(t);
  });
  const stop = () => {
    dragging = false;
  };
  element.addEventListener("pointerup", stop);
  element.addEventListener("pointercancel", stop);
}

function overview(trace, state, backward) {
  const L = trace.layers[state.layer] || trace.layers[0];
  const values = realOnly(trace, backward ? L.dH_norm : L.H.map((row) => row[state.unit]));
  const data = [{
    type: "scatter", mode: "lines", x: values.map((_, t) => t), y: backward ? values.map((v) => (v > 0 ? v : null)) : values,
    line: { color: backward ? COLORS.W_hh : COLORS.W_xh, width: 1.4 },
    hovertemplate: backward ? "t=%{x}: ‖dL/dH‖=%{y:.3e}<extra></extra>" : `t=%{x}: H[${state.unit}]=%{y:.3f}<extra></extra>`,
  }];
  const layout = baseLayout({
    margin: { l: 46, r: 8, t: 2, b: 18 },
    xaxis: axis("", { range: [-0.5, trace.T - 0.5], fixedrange: true, showgrid: false }),
    yaxis: axis("", { type: backward ? "log" : "linear", fixedrange: true, nticks: 3, showgrid: false, ...(backward ? { dtick: 2, exponentformat: "power" } : {}) }),
  });
  return { data, layout };
}

const STYLE_PROPERTIES = ["fill", "stroke", "stroke-width", "font-size", "font-family", "font-style", "opacity"];

/**
 * The diagram as a PNG blob (twice its size on screen), like the Plotly views' camera button:
 * the SVG is copied with its computed styles written on every element, drawn on a canvas.
 */
export function toPNG() {
  if (!svg) return Promise.reject(new Error("Nothing is drawn yet."));
  const copy = svg.cloneNode(true);
  const originals = [svg, ...svg.querySelectorAll("*")];
  const copies = [copy, ...copy.querySelectorAll("*")];
  originals.forEach((node, k) => {
    const computed = getComputedStyle(node);
    for (const name of STYLE_PROPERTIES) copies[k].style.setProperty(name, computed.getPropertyValue(name));
  });
  const background = make("rect", { x: 0, y: 0, width: "100%", height: "100%", fill: "#ffffff" });
  copy.insertBefore(background, copy.firstChild);
  const width = Number(svg.getAttribute("width"));
  const height = Number(svg.getAttribute("height"));
  const url = URL.createObjectURL(new Blob([new XMLSerializer().serializeToString(copy)], { type: "image/svg+xml" }));
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => {
      const canvas = document.createElement("canvas");
      canvas.width = width * 2;
      canvas.height = height * 2;
      const context = canvas.getContext("2d");
      context.scale(2, 2);
      context.drawImage(image, 0, 0);
      URL.revokeObjectURL(url);
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("The browser could not encode the PNG."))), "image/png");
    };
    image.onerror = () => reject(new Error("The diagram could not be drawn as an image."));
    image.src = url;
  });
}

function outputPattern(trace, start) {
  if (trace.sequence) return "all";
  const k = trace.T - 1 - start;
  return k < windowSize ? String(k) : "none";
}

export function update(state, trace) {
  if (!trace) return;
  prepare(trace);
  const size = sizeFor(trace.T);
  if (size !== windowSize) windowStart = -1;
  windowSize = size;
  const backward = state.phase === "backward" && trace.hasBackward;
  const start = startFor(state.t, trace.T, size, state.playing, backward);
  const key = [trace.id, trace.L, backward, size, outputPattern(trace, start), start > 0, measured().width, measured().height].join("|");
  const moved = start !== windowStart;
  windowStart = start;
  setWindow(start, size, { T: trace.T, playing: state.playing, backward });
  if (key !== structureKey || !parts) {
    const hasOutput = Array.from({ length: size }, (_, k) => Boolean(outputAt(trace, start + k)));
    build(trace, backward, hasOutput, start > 0);
    structureKey = key;
    paint(trace, state, start, backward);
    parts.painted = `${traceKey(trace)}|${state.unit}|${state.layer}`;
  } else if (moved || parts.painted !== `${traceKey(trace)}|${state.unit}|${state.layer}`) {
    paint(trace, state, start, backward);
    parts.painted = `${traceKey(trace)}|${state.unit}|${state.layer}`;
  }
  parts.T = trace.T;
  moveCursor(state, start);
  const ovKey = `${traceKey(trace)}|${backward}|${state.unit}|${state.layer}`;
  if (ovKey !== overviewKey) {
    const first = !overviewEl.dataset.plotted;
    const ov = overview(trace, state, backward);
    draw(overviewEl, ov.data, ov.layout);
    if (first) {
      overviewEl.on("plotly_click", (event) => onPick(Math.round(event.points[0].x)));
      dragToMove(overviewEl);
    }
    overviewKey = ovKey;
  }
  placeCursor(overviewEl, state.t, trace.T, state.phase, { veil: false, band: [start - 0.5, start + size - 0.5] });
}
