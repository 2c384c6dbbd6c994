// Inside the cell, step t: one step of the selected layer's cell drawn as its data flow (inputs,
// the two products, the sums, σ and tanh, ⊙ and +, the outputs), each edge labelled with its
// value for the selected unit; on the backward pass the same graph carries the gradients, the
// arrows reversed. Plain SVG built once per cell, layer and pass; a step rewrites the labels.

import { fmt, showEmpty, traceKey } from "./common.js";
import { cellStep } from "../cell-step.js";

const SVG = "http://www.w3.org/2000/svg";
const GATE_BOX = { i: "σ", f: "σ", g: "tanh", o: "σ", r: "σ", z: "σ", n: "tanh" };

let el = null;
let builtKey = "";
let labels = []; // {text, q} per labelled edge
let caption = null;

export function init(element) {
  el = element;
  showEmpty(el, "One step of the cell, value by value, for the selected unit.");
}

/* ---------- the graphs: nodes {id, x, y, kind, text, title}, edges {from, to, q, dq, at, via} ---------- */

function rnnGraph(trace, layer) {
  const phi = trace.config.nonlinearity;
  return {
    width: 680,
    height: 210,
    nodes: [
      io("x", 50, 60, inputName(layer)),
      io("hp", 50, 160, "Hₜ₋₁"),
      box("px", 190, 60, "xₜ W_xh"),
      box("ph", 190, 160, "Hₜ₋₁ W_hh"),
      bias("b", 350, 40, "b_h"),
      op("sum", 350, 110, "+", "A_t = x_t W_xh + H_{t−1} W_hh + b_h"),
      box("phi", 480, 110, phi === "sigmoid" ? "σ" : phi),
      io("h", 620, 110, "Hₜ"),
    ],
    edges: [
      edge("x", "px"),
      edge("hp", "ph", "H_prev", "dH_prev"),
      edge("px", "sum", "xw", "dA", [334, 96, "end"]),
      edge("ph", "sum", "hw", "dA", [334, 134, "end"]),
      edge("b", "sum", "b", "dA", [357, 74, "start"]),
      edge("sum", "phi", "A", "dA"),
      edge("phi", "h", "H", "dH"),
    ],
  };
}

function lstmGraph(trace, layer) {
  const rows = { i: 80, f: 160, g: 240, o: 320 };
  const nodes = [
    io("x", 40, 130, inputName(layer)),
    io("hp", 40, 290, "Hₜ₋₁"),
    io("cp", 470, 30, "Cₜ₋₁"),
    box("px", 150, 130, "xₜ W_xh"),
    box("ph", 150, 290, "Hₜ₋₁ W_hh"),
    op("mulF", 590, 30, "⊙", "f ⊙ C_{t−1}"),
    op("add", 710, 30, "+", "C_t = f ⊙ C_{t−1} + i ⊙ g"),
    io("c", 890, 30, "Cₜ"),
    op("mulIG", 640, 160, "⊙", "i ⊙ g"),
    box("tanhC", 810, 160, "tanh"),
    op("mulO", 810, 320, "⊙", "H_t = o ⊙ tanh(C_t)"),
    io("h", 910, 320, "Hₜ"),
  ];
  const edges = [edge("x", "px"), edge("hp", "ph", "H_prev", "dH_prev")];
  for (const [name, y] of Object.entries(rows)) {
    nodes.push(bias(`b${name}`, 320, y - 36, `b_${name}`), op(`s${name}`, 320, y, "+", `A_${name}`), box(name, 420, y, GATE_BOX[name]));
    edges.push(
      ...sumInputs("px", "ph", `s${name}`, name, 320, y),
      edge(`s${name}`, name, `A_${name}`, `dA_${name}`),
    );
  }
  edges.push(
    edge("i", "mulIG", "i", "di", 0.5),
    edge("g", "mulIG", "g", "dg", 0.5),
    edge("f", "mulF", "f", "df", 0.72),
    edge("o", "mulO", "o", "do", 0.45),
    edge("cp", "mulF", "C_prev", "dC_prev"),
    edge("mulF", "add", "fC", "dC"),
    edge("mulIG", "add", "ig", "dC", 0.5),
    edge("add", "c", "C", "dC"),
    edge("c", "tanhC", "C", "dC_via_H", 0.5),
    edge("tanhC", "mulO", "tanhC", "dtanhC"),
    edge("mulO", "h", "H", "dH"),
  );
  return { width: 960, height: 370, nodes, edges };
}

function gruGraph(trace, layer) {
  const nodes = [
    io("x", 40, 110, inputName(layer)),
    io("hp", 40, 270, "Hₜ₋₁"),
    box("px", 150, 110, "xₜ W_xh"),
    box("ph", 150, 270, "Hₜ₋₁ W_hh"),
    op("hnAdd", 330, 300, "+", "H_{t−1} W_hn + b_hn"),
    bias("bhn", 330, 350, "b_hn"),
    op("mulR", 470, 300, "⊙", "r ⊙ (H_{t−1} W_hn + b_hn)"),
    bias("bn", 600, 196, "b_in"),
    op("sn", 600, 230, "+", "A_n = x_t W_xn + b_in + r ⊙ (H_{t−1} W_hn + b_hn)"),
    box("n", 700, 230, "tanh"),
    op("mix", 830, 150, "mix", "H_t = (1 − z) ⊙ n + z ⊙ H_{t−1}"),
    io("h", 920, 150, "Hₜ"),
  ];
  const edges = [edge("x", "px"), edge("hp", "ph", "H_prev", "dH_gates")];
  for (const [name, y] of Object.entries({ r: 60, z: 150 })) {
    nodes.push(bias(`b${name}`, 320, y - 34, `b_${name}`), op(`s${name}`, 320, y, "+", `A_${name}`), box(name, 420, y, "σ"));
    edges.push(
      ...sumInputs("px", "ph", `s${name}`, name, 320, y),
      edge(`s${name}`, name, `A_${name}`, `dA_${name}`),
    );
  }
  edges.push(
    edge("ph", "hnAdd", "hw_n", "dhn", 0.55),
    edge("bhn", "hnAdd", "b_hn", "dhn", [337, 330, "start"]),
    edge("hnAdd", "mulR", "hn", "dhn"),
    edge("r", "mulR", "r", "dr", 0.62),
    edge("mulR", "sn", "rhn", "dA_n", 0.5),
    edge("px", "sn", "xw_n", "dA_n", [584, 222, "end"]),
    edge("bn", "sn", "b_n", "dA_n", [607, 215, "start"]),
    edge("sn", "n", "A_n", "dA_n"),
    edge("z", "mix", "z", "dz", 0.5),
    edge("n", "mix", "n", "dn", 0.5),
    { ...edge("hp", "mix", "H_prev", "dH_direct", 0.55), via: [[40, 385], [830, 385]] },
    edge("mix", "h", "H", "dH"),
  );
  return { width: 960, height: 400, nodes, edges };
}

/** The three inputs of a gate's sum, labelled beside it: x_t W above, H_{t−1} W below, b right. */
function sumInputs(px, ph, sum, name, x, y) {
  return [
    edge(px, sum, `xw_${name}`, `dA_${name}`, [x - 16, y - 8, "end"]),
    edge(ph, sum, `hw_${name}`, `dA_${name}`, [x - 16, y + 16, "end"]),
    edge(`b${name}`, sum, `b_${name}`, `dA_${name}`, [x + 7, y - 19, "start"]),
  ];
}

const GRAPHS = { rnn: rnnGraph, lstm: lstmGraph, gru: gruGraph };

const inputName = (layer) => (layer === 0 ? "xₜ" : `Hₜ of layer ${layer}`);
const io = (id, x, y, text) => ({ id, x, y, kind: "io", text });
const box = (id, x, y, text) => ({ id, x, y, kind: "box", text });
const op = (id, x, y, text, title) => ({ id, x, y, kind: "op", text, title });
const bias = (id, x, y, text) => ({ id, x, y, kind: "bias", text });
const edge = (from, to, q = null, dq = null, at = 0.5) => ({ from, to, q, dq, at });

/** What each quantity is, for the labels' titles. */
const MEANING = {
  H_prev: "Hₜ₋₁", dH_prev: "this step's part of dL/dH_{t−1}", dH_gates: "dL/dH_{t−1} through W_hh",
  dH_direct: "dL/dH_{t−1} through z ⊙ H_{t−1}", C_prev: "Cₜ₋₁", dC_prev: "dL/dC_{t−1} through f: dC ⊙ f",
  fC: "f ⊙ C_{t−1}", ig: "i ⊙ g", dC: "total dL/dC_t", dC_via_H: "dL/dC_t from H_t: dH ⊙ o ⊙ (1 − tanh²C)",
  tanhC: "tanh(C_t)", dtanhC: "dL/d tanh(C_t) = dH ⊙ o", hn: "H_{t−1} W_hn + b_hn", rhn: "r ⊙ (H_{t−1} W_hn + b_hn)",
  dhn: "dL/d(H_{t−1} W_hn + b_hn) = dA_n ⊙ r",
};

function meaning(q) {
  if (MEANING[q]) return MEANING[q];
  const block = q.match(/^(xw|hw|b|A|dA)_?(\w)?$/);
  if (block) {
    const [, kind, gate] = block;
    const suffix = gate ? ` (block ${gate})` : "";
    return { xw: "xₜ W_xh", hw: "Hₜ₋₁ W_hh", b: "the bias", A: "pre-activation A", dA: "dL/dA" }[kind] + suffix;
  }
  if (q.startsWith("d")) return `dL/d${q.slice(1)}`;
  return q;
}

/* ---------- drawing ---------- */

function make(tag, attrs, parent) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (parent) parent.append(e);
  return e;
}

const NODE_SIZE = { bias: [38, 18] }; // width, height; boxes and inputs fit their text, 26 high

function nodeWidth(node) {
  if (node.kind === "op") return 26;
  if (node.kind === "box" || node.kind === "io") return Math.max(node.kind === "io" ? 56 : 40, node.text.length * 7 + 14);
  return NODE_SIZE[node.kind][0];
}

/** The point where the segment from (x, y) towards `to` leaves the node's outline. */
function border(node, toward) {
  const dx = toward[0] - node.x;
  const dy = toward[1] - node.y;
  if (node.kind === "op") {
    const length = Math.hypot(dx, dy) || 1;
    return [node.x + (13 * dx) / length, node.y + (13 * dy) / length];
  }
  const halfW = nodeWidth(node) / 2;
  const halfH = (node.kind === "bias" ? NODE_SIZE.bias[1] : 26) / 2;
  const scale = Math.min(halfW / Math.abs(dx || 1e-9), halfH / Math.abs(dy || 1e-9), 1);
  return [node.x + dx * scale, node.y + dy * scale];
}

function pointAlong(points, fraction) {
  const lengths = points.slice(1).map((p, k) => Math.hypot(p[0] - points[k][0], p[1] - points[k][1]));
  let left = fraction * lengths.reduce((a, b) => a + b, 0);
  for (let k = 0; k < lengths.length; k++) {
    if (left <= lengths[k] || k === lengths.length - 1) {
      const w = lengths[k] ? left / lengths[k] : 0;
      return [points[k][0] + w * (points[k + 1][0] - points[k][0]), points[k][1] + w * (points[k + 1][1] - points[k][1])];
    }
    left -= lengths[k];
  }
  return points[0];
}

function build(trace, layer, backward) {
  const graph = GRAPHS[trace.cell](trace, layer);
  const byId = Object.fromEntries(graph.nodes.map((n) => [n.id, n]));
  const svg = make("svg", { viewBox: `0 0 ${graph.width} ${graph.height}`, role: "img", class: `cell-svg ${backward ? "backward" : "forward"}` });
  make("title", {}, svg).textContent = `One step of the ${trace.cell.toUpperCase()} cell of layer ${layer + 1}, ${backward ? "gradients flowing back" : "values flowing forward"}`;
  const defs = make("defs", {}, svg);
  const marker = make("marker", { id: "cell-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
  make("path", { d: "M0,0 L10,5 L0,10 z", class: "cell-arrowhead" }, marker);
  const edgeLayer = make("g", { class: "cell-edges" }, svg);
  const nodeLayer = make("g", { class: "cell-nodes" }, svg);
  const labelLayer = make("g", { class: "cell-labels" }, svg);
  labels = [];
  graph.edges.forEach((e, k) => {
    const from = byId[e.from];
    const to = byId[e.to];
    const via = e.via || [];
    const start = border(from, via[0] || [to.x, to.y]);
    const end = border(to, via[via.length - 1] || [from.x, from.y]);
    const points = [start, ...via, end];
    const arrow = backward ? { "marker-start": "url(#cell-arrow)" } : { "marker-end": "url(#cell-arrow)" };
    const path = points.map((p) => p.join(",")).join(" ");
    const link = { "data-edge": k, "data-from": e.from, "data-to": e.to };
    make("polyline", { points: path, class: "cell-edge", ...link, ...arrow }, edgeLayer);
    // a wide transparent twin: the thin edge is easy to point at
    make("polyline", { points: path, class: "cell-edge-hit", ...link }, edgeLayer);
    const q = backward ? e.dq : e.q;
    if (!q) return;
    const [x, y, anchor] = Array.isArray(e.at) ? e.at : [...pointAlong(points, e.at), "middle"];
    const group = make("g", { class: "cell-label", ...link }, labelLayer);
    const title = make("title", {}, group);
    title.textContent = meaning(q);
    const text = make("text", { x, y: Array.isArray(e.at) ? y : y - 4, "text-anchor": anchor, "data-quantity": q }, group);
    labels.push({ text, q, title });
  });
  // pointing at an edge or its value lights the edge, its value and the two nodes it joins
  const light = (target) => {
    for (const lit of svg.querySelectorAll(".lit")) lit.classList.remove("lit");
    const edge = target?.closest?.("[data-edge]");
    if (!edge) return;
    for (const part of svg.querySelectorAll(`[data-edge="${edge.dataset.edge}"]`)) part.classList.add("lit");
    for (const id of [edge.dataset.from, edge.dataset.to]) svg.querySelector(`[data-node="${id}"]`)?.classList.add("lit");
  };
  svg.addEventListener("mouseover", (event) => light(event.target));
  svg.addEventListener("mouseleave", () => light(null));
  for (const n of graph.nodes) {
    const group = make("g", { class: `cell-node ${n.kind}`, "data-node": n.id }, nodeLayer);
    if (n.title) make("title", {}, group).textContent = n.title;
    if (n.kind === "op") make("circle", { cx: n.x, cy: n.y, r: 13 }, group);
    else {
      const w = nodeWidth(n);
      const h = n.kind === "bias" ? NODE_SIZE.bias[1] : 26;
      make("rect", { x: n.x - w / 2, y: n.y - h / 2, width: w, height: h, rx: n.kind === "io" ? 13 : 4 }, group);
    }
    const text = make("text", { x: n.x, y: n.y + 4, "text-anchor": "middle", class: n.text.length > 1 && n.kind === "op" ? "word" : "" }, group);
    text.textContent = n.text;
  }
  caption = document.createElement("p");
  caption.className = "cell-caption";
  el.replaceChildren(svg, caption);
}

/** How a quantity is written on its edge (the data attribute keeps the plain name). */
const SHOWN = {
  H_prev: "Hₜ₋₁", C_prev: "Cₜ₋₁", fC: "f⊙Cₜ₋₁", ig: "i⊙g", C: "Cₜ", tanhC: "tanh Cₜ", H: "Hₜ", hn: "Hₜ₋₁W_hn+b_hn",
  rhn: "r⊙(…)", xw: "xₜW_xh", hw: "Hₜ₋₁W_hh", b: "b_h", b_n: "b_in", dH: "dHₜ", dC: "dCₜ", dH_prev: "dHₜ₋₁",
  dC_prev: "dCₜ₋₁", dC_via_H: "dCₜ via Hₜ", dtanhC: "d tanh Cₜ", dH_gates: "dHₜ₋₁ via W_hh", dH_direct: "dHₜ₋₁ via z",
  dhn: "d(Hₜ₋₁W_hn+b_hn)",
};

function shownName(q) {
  if (SHOWN[q]) return SHOWN[q];
  const product = q.match(/^(xw|hw)_(\w)$/);
  if (product) return product[1] === "xw" ? `xₜW_x${product[2]}` : `Hₜ₋₁W_h${product[2]}`;
  return q;
}

function label(q, value) {
  return `${shownName(q)} ${value === null || value === undefined ? "…" : fmt(value, 3)}`;
}

function fill(trace, state, backward) {
  const j = Math.min(state.unit, trace.H - 1);
  const step = cellStep(trace, state.layer, state.t, j);
  const values = backward ? step.backward : step.forward;
  for (const { text, q, title } of labels) {
    const value = values?.[q] ?? null;
    text.textContent = label(q, value);
    text.dataset.value = value === null ? "" : String(value);
    title.textContent = value === null ? meaning(q) : `${meaning(q)} = ${value}`; // every digit on hover
  }
  const where = `Unit ${j} of layer ${state.layer + 1}, step t = ${state.t}`;
  if (!backward) {
    caption.textContent = `${where}: each edge carries that unit's value; the products are its entries of xₜ W_xh and Hₜ₋₁ W_hh${trace.weights ? "" : " (weights not loaded: …)"}.`;
    return;
  }
  caption.replaceChildren(`${where}: each edge carries dL/d(its value), from dL/dHₜ back to `);
  const total = document.createElement("span");
  total.className = "num";
  total.dataset.quantity = "dH_prev";
  const dH_prev = values?.dH_prev ?? null;
  total.dataset.value = dH_prev === null ? "" : String(dH_prev);
  total.textContent = `dL/dHₜ₋₁ ${dH_prev === null ? "…" : fmt(dH_prev, 4)}`;
  caption.append(total, " (this step's part; the rest comes from the output or the layer above at t − 1).");
}

export function update(state, trace) {
  if (!trace) return;
  if (!trace.layers[state.layer]) {
    showEmpty(el, "No such layer.");
    builtKey = "";
    return;
  }
  const backward = state.phase === "backward" && trace.hasBackward;
  const key = `${traceKey(trace)}|${state.layer}|${backward}`;
  if (key !== builtKey) {
    build(trace, state.layer, backward);
    builtKey = key;
  }
  fill(trace, state, backward);
}
