// The equation of the current step with its live numbers and shapes (for the selected unit),
// and the pseudo-code loop beside it with the running lines highlighted. Plain DOM, textContent
// only; the structure is built once per trace and phase, stepping only rewrites the numbers.

import { asRow, fmt, norm, traceKey } from "./common.js";
import { stepLabel } from "../step-label.js";
import { cellStep } from "../cell-step.js";
import { outputAt, preactivationTerms } from "../trace.js";
import { typeset } from "../typeset.js";
import { texLines } from "./equation-tex.js";

let el = null;
let builtKey = "";
let slots = {}; // name → element whose text is a live number
let codeLines = [];

const PHI = { tanh: "tanh", sigmoid: "σ", relu: "relu", identity: "id" };

export function init(element) {
  el = element;
  const p = document.createElement("p");
  p.className = "empty";
  p.textContent = "The equation of the current step, with its numbers and shapes.";
  el.replaceChildren(p);
}

function node(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** One equation line from parts: strings, {slot}, {shape}, or {term, cls}. */
function line(parts) {
  const div = node("div", "eq");
  for (const part of parts) {
    if (typeof part === "string") div.append(part);
    else if (part.slot) {
      const span = node("span", "num");
      span.dataset.slot = part.slot;
      slots[part.slot] = span;
      div.append(span);
    } else if (part.shape) div.append(node("span", "shape", part.shape));
    else if (part.term) div.append(node("span", part.cls, part.term));
    else if (part.br) div.append(document.createElement("br"));
  }
  return div;
}

const xh = (text = "X_t W_xh") => ({ term: text, cls: "t-xh" });
const hh = (text = "H_{t−1} W_hh") => ({ term: text, cls: "t-hh" });
const hq = (text = "H_t W_hq") => ({ term: text, cls: "t-hq" });

function forwardLines(trace, D, H, Q) {
  const G = trace.gateNames.length || 1;
  const phi = PHI[trace.config.nonlinearity] || "φ";
  const shapes = { shape: `  (1,${D})·(${D},${G * H}) + (1,${H})·(${H},${G * H}) + (${G * H},) → (1,${G * H})` };
  const lines = [];
  if (trace.cell === "rnn") {
    lines.push(line(["H_t = ", phi, "(", xh(), " + ", hh(), " + b_h)", { br: true }, shapes]));
    lines.push(line(["unit ", { slot: "unit" }, ":  A_t = ", xh("("), { slot: "xw" }, xh(")"), " + ", hh("("), { slot: "hw" }, hh(")"), " + ", { slot: "b" }, " = ", { slot: "a" }]));
    lines.push(line(["H_t[", { slot: "unit2" }, "] = ", phi, "(", { slot: "a2" }, ") = ", { slot: "h" }]));
  } else if (trace.cell === "lstm") {
    lines.push(line(["[i f g o] = ", xh(), " + ", hh(), " + b_h", { br: true }, shapes]));
    lines.push(line(["unit ", { slot: "unit" }, ":  i=σ(", { slot: "a_i" }, ")=", { slot: "i" }, "  f=σ(", { slot: "a_f" }, ")=", { slot: "f" }, { br: true },
      "g=tanh(", { slot: "a_g" }, ")=", { slot: "g" }, "  o=σ(", { slot: "a_o" }, ")=", { slot: "o" }]));
    lines.push(line(["C_t = f⊙C_{t−1} + i⊙g = ", { slot: "f2" }, "·", { slot: "cprev" }, " + ", { slot: "i2" }, "·", { slot: "g2" }, " = ", { slot: "c" }]));
    lines.push(line(["H_t = o⊙tanh(C_t) = ", { slot: "h" }]));
  } else {
    lines.push(line(["[r z n] = ", xh(), " + ", hh(), " + b", { br: true }, shapes]));
    lines.push(line(["unit ", { slot: "unit" }, ":  r=σ(", { slot: "a_r" }, ")=", { slot: "r" }, "  z=σ(", { slot: "a_z" }, ")=", { slot: "z" }]));
    lines.push(line(["n = tanh(X_t W_xn + b_in + r⊙(H_{t−1}W_hn + b_hn)) = ", { slot: "n" }]));
    lines.push(line(["H_t = (1−z)⊙n + z⊙H_{t−1} = ", { slot: "h" }]));
  }
  const head = { softmax: ["softmax(", ")"], sigmoid: ["σ(", ")"] }[trace.config.head] || ["", ""];
  const outName = trace.config.head === "softmax" ? "most likely: " : "O_t[0] = ";
  lines.push(line(["O_t = ", head[0], hq(), " + b_q", head[1], { shape: `  (1,${H})·(${H},${Q}) + (${Q},) → (1,${Q})` }, { br: true }, outName, { slot: "o0" }]));
  return lines;
}

function backwardLines(trace, layerIndex, D, H, Q) {
  const G = trace.gateNames.length || 1;
  const top = layerIndex === trace.L - 1;
  // a layer below the top gets its gradient at t from the layer above: that layer's dL/dX_t
  const here = top
    ? ["dL/dO_t ", hq("W_hqᵀ"), " + (from t+1) "]
    : [`(from the layer above) dL/dX_t of layer ${layerIndex + 2} + (from t+1) `];
  const hereShape = top ? `(1,${Q})·(${Q},${H})` : `(1,${G * H})·(${G * H},${H})`;
  const lines = [
    line(["dL/dH_t = ", ...here, hh("dL/dA_{t+1} W_hhᵀ"), { br: true }, { shape: `  ${hereShape} + (1,${G * H})·(${G * H},${H}) → (1,${H})` }]),
    line(["‖dL/dH_t‖ = ", { slot: "dh_norm" }, "   unit ", { slot: "unit" }, ": ", { slot: "dh" }]),
    line(["unit: ", { slot: "here_name" }, " ", { slot: "dh_here" }, " + ", hh("(from t+1)"), " ", { slot: "dh_future" }, " = ", { slot: "dh2" }]),
  ];
  if (trace.cell === "lstm") {
    lines.push(line(["dC_t = dC_{t+1}⊙f_{t+1} + dH_t⊙o⊙(1−tanh²C_t) = ", { slot: "dc" }]));
    lines.push(line(["di = dC⊙g = ", { slot: "di" }, "  df = dC⊙C_{t−1} = ", { slot: "df" }, { br: true }, "dg = dC⊙i = ", { slot: "dg" }, "  do = dH⊙tanh(C_t) = ", { slot: "do" }]));
    lines.push(line(["dL/dA_t = [di·σ′(i), df·σ′(f), dg·(1−g²), do·σ′(o)], σ′ = s(1−s) → unit (i): ", { slot: "da" }]));
  } else if (trace.cell === "gru") {
    lines.push(line(["dn = dH⊙(1−z) = ", { slot: "dn" }, "  dz = dH⊙(H_{t−1}−n) = ", { slot: "dz" }, { br: true }, "dr = dA_n⊙(H_{t−1}W_hn + b_hn) = ", { slot: "dr" }]));
    lines.push(line(["dL/dA_t = [dr·σ′(r), dz·σ′(z), dn·(1−n²)], σ′ = s(1−s) → unit (r): ", { slot: "da" }]));
  } else {
    lines.push(line(["dL/dA_t = dL/dH_t ⊙ φ′(A_t) → unit: ", { slot: "da" }]));
  }
  lines.push(
    line([hh("dW_hh"), " += H_{t−1}ᵀ dL/dA_t", { shape: `  (${H},1)·(1,${G * H}) → (${H},${G * H})` }, { br: true }, "‖step t's part‖ = ", { slot: "dwhh" }]),
    line([xh("dW_xh"), " += X_tᵀ dL/dA_t", { shape: `  (${D},1)·(1,${G * H})` }, "  ‖·‖ = ", { slot: "dwxh" }]),
  );
  return lines;
}

const CODE = {
  rnn: {
    forward: ["H = zeros(1, H)", "for t in range(T):", "    A = X[t] @ W_xh + H @ W_hh + b_h", "    H = φ(A)", "    O[t] = H @ W_hq + b_q"],
    backward: ["dH_next = zeros(1, H)", "for t in reversed(range(T)):", "    dH = dO[t] @ W_hq.T + dH_next", "    dA = dH * φ'(A[t])", "    dW_hh += H[t-1].T @ dA;  dW_xh += X[t].T @ dA", "    dH_next = dA @ W_hh.T"],
  },
  lstm: {
    forward: ["H, C = zeros(1, H), zeros(1, H)", "for t in range(T):", "    i, f, g, o = split(X[t] @ W_xh + H @ W_hh + b_h)", "    i, f, g, o = σ(i), σ(f), tanh(g), σ(o)", "    C = f * C + i * g;  H = o * tanh(C)", "    O[t] = H @ W_hq + b_q"],
    backward: [
      "dH_next, dC_next = zeros(1, H), zeros(1, H)",
      "for t in reversed(range(T)):",
      "    dH = dO[t] @ W_hq.T + dH_next",
      "    do = dH * tanh(C[t])",
      "    dC = dC_next + dH * o * (1 - tanh(C[t])**2)",
      "    df = dC * C[t-1];  di = dC * g;  dg = dC * i",
      "    dC_next = dC * f                    # dC_{t-1}",
      "    dA = [di*σ'(i), df*σ'(f), dg*(1 - g**2), do*σ'(o)]   # σ' = s(1-s)",
      "    dW_hh += H[t-1].T @ dA;  dW_xh += X[t].T @ dA",
      "    dH_next = dA @ W_hh.T",
    ],
  },
  gru: {
    forward: ["H = zeros(1, H)", "for t in range(T):", "    r, z = σ(X[t] @ W_xr,z + H @ W_hr,z + b_r,z)", "    n = tanh(X[t] @ W_xn + b_in + r * (H @ W_hn + b_hn))", "    H = (1 - z) * n + z * H", "    O[t] = H @ W_hq + b_q"],
    backward: [
      "dH_next = zeros(1, H)",
      "for t in reversed(range(T)):",
      "    dH = dO[t] @ W_hq.T + dH_next",
      "    dn = dH * (1 - z);  dz = dH * (H[t-1] - n)",
      "    dA_n = dn * (1 - n**2);  dA_z = dz * z*(1 - z)",
      "    dr = dA_n * (H[t-1] @ W_hn + b_hn);  dA_r = dr * r*(1 - r)",
      "    dA, dA_h = [dA_r, dA_z, dA_n], [dA_r, dA_z, dA_n * r]",
      "    dW_hh += H[t-1].T @ dA_h;  dW_xh += X[t].T @ dA",
      "    dH_next = dA_h @ W_hh.T + dH * z",
    ],
  },
};

/**
 * The loop of this cell and pass; a many-to-one model computes its one output outside it. A
 * layer below the top takes dL/dH_t at every step from the layer above, dL/dX_t of that layer.
 */
function codeFor(trace, backward, layerIndex) {
  const lines = [...CODE[trace.cell][backward ? "backward" : "forward"]];
  if (backward && layerIndex < trace.L - 1) {
    lines[2] = `    dH = dX_above[t] + dH_next     # dL/dX_t of layer ${layerIndex + 2}`;
    return lines;
  }
  if (trace.sequence) return lines;
  if (!backward) {
    lines[lines.length - 1] = "O = H @ W_hq + b_q        # once, after the loop";
    return lines;
  }
  lines[0] = "dH_next = dO @ W_hq.T     # the one output, at t = T-1";
  lines[2] = "    dH = dH_next";
  return lines;
}

function build(trace, state, backward) {
  slots = {};
  const D = state.layer === 0 ? trace.D : trace.H;
  const heading = node("p", "check");
  heading.append(backward ? "Backward through time, " : "Forward, ");
  const tSlot = node("span", "num step-label");
  slots.t = tSlot;
  heading.append(tSlot, ` · layer ${state.layer + 1} · rows are (batch=1, features)`);
  const lines = backward ? backwardLines(trace, state.layer, D, trace.H, trace.Q) : forwardLines(trace, D, trace.H, trace.Q);
  const symbolic = node("div", "eq-math");
  symbolic.setAttribute("role", "group");
  symbolic.setAttribute("aria-label", backward ? "The backward step's equations" : "The step's equations");
  const { cell, config } = trace;
  const tex = texLines({ cell, nonlinearity: config.nonlinearity, head: config.head, sequence: trace.sequence, layer: state.layer, top: state.layer === trace.L - 1, backward });
  symbolic.append(...tex.map((text) => node("div", "math block", text)));
  const G = trace.gateNames.length || 1;
  const whole = node("p", "check sequence-shapes");
  const input = state.layer === 0 ? "X" : `H⁽${state.layer}⁾ (the layer below)`;
  whole.textContent = `Whole sequence: ${input} (${trace.T}, ${D}) → H (${trace.T}, ${trace.H}) → O ${trace.sequence ? `(${trace.T}, ${trace.Q})` : `(${trace.Q},) at the last step only`}, with one W_xh (${D}, ${G * trace.H}), one W_hh (${trace.H}, ${G * trace.H}) and one W_hq (${trace.H}, ${trace.Q}) for ${trace.T === 1 ? "its one step" : `all ${trace.T} steps`}.`;
  // the page's own recomputation of the server's numbers: behind "Check the numbers"
  const check = node("p", "check number-check");
  slots.check = check;
  const code = node("div", "code");
  code.setAttribute("aria-label", "Pseudo-code of the loop, the running lines highlighted");
  code.setAttribute("role", "region");
  code.tabIndex = 0; // it scrolls sideways on narrow screens: reachable by keyboard
  codeLines = codeFor(trace, backward, state.layer).map((text) => {
    const span = node("span", "", text);
    code.append(span);
    return span;
  });
  el.replaceChildren(heading, symbolic, whole, ...lines, check, code);
}

function put(name, value, digits = 4) {
  const span = slots[name];
  if (!span) return;
  span.textContent = typeof value === "number" ? fmt(value, digits) : String(value);
  if (typeof value === "number") span.dataset.exact = String(value);
}

function fillForward(trace, state) {
  const { t } = state;
  const layer = trace.layers[state.layer];
  const j = Math.min(state.unit, trace.H - 1);
  put("unit", String(j));
  put("unit2", String(j));
  put("h", layer.H[t][j]);
  if (trace.cell === "rnn") {
    const a = layer.A[t][j];
    const terms = preactivationTerms(trace, state.layer, t, 0, j);
    put("a", a);
    put("a2", a);
    if (terms) {
      put("xw", terms.xw);
      put("hw", terms.hw);
      put("b", terms.bias_ih + terms.bias_hh);
      const sum = terms.xw + terms.hw + terms.bias_ih + terms.bias_hh;
      slots.check.textContent = `Σ of the terms = ${fmt(sum, 6)}; the server's A_t = ${fmt(a, 6)} (|Δ| = ${Math.abs(sum - a).toExponential(1)})`;
    } else {
      put("xw", "…");
      put("hw", "…");
      put("b", "…");
      slots.check.textContent = "";
    }
  } else {
    const names = trace.gateNames;
    for (let k = 0; k < names.length; k++) {
      put(`a_${names[k]}`, layer.A[t][k * trace.H + j], 3);
      put(names[k], layer.gates[names[k]]?.[t]?.[j], 3);
    }
    if (trace.cell === "lstm") {
      put("f2", layer.gates.f[t][j], 3);
      put("i2", layer.gates.i[t][j], 3);
      put("g2", layer.gates.g[t][j], 3);
      put("cprev", t > 0 ? layer.gates.C[t - 1][j] : 0, 3);
      put("c", layer.gates.C[t][j]);
    }
    slots.check.textContent = "Gate order as PyTorch's: the stacked weight blocks are " + names.join(", ") + ".";
  }
  const out = outputAt(trace, t);
  if (!out) put("o0", trace.sequence ? "—" : "— (the model answers at the last step only)");
  else if (trace.config.head === "softmax") {
    const best = out.indexOf(Math.max(...out));
    const vocab = trace.meta.vocab;
    const name = vocab && vocab.length === out.length ? JSON.stringify(vocab[best]) : `class ${best}`;
    put("o0", `${name} with p = ${fmt(out[best], 3)}`);
  } else put("o0", out[0]);
}

function fillBackward(trace, state) {
  const { t } = state;
  const layer = trace.layers[state.layer];
  const j = Math.min(state.unit, trace.H - 1);
  put("unit", String(j));
  put("dh_norm", layer.dH_norm[t]);
  put("dh", layer.dH[t][j]);
  put("da", layer.dA[t][j]);
  put("dwhh", layer.step_grad_norms?.W_hh?.[t] ?? "…");
  put("dwxh", layer.step_grad_norms?.W_xh?.[t] ?? "…");
  put("dh2", layer.dH[t][j]);
  if (trace.cell !== "rnn") {
    const grads = cellStep(trace, state.layer, t, j).backward;
    for (const name of ["dc", "di", "df", "dg", "do", "dn", "dz", "dr"]) put(name, grads[name === "dc" ? "dC" : name] ?? "…", 4);
  }
  const here = gradientFromThisStep(trace, state.layer, t, j);
  put("here_name", state.layer === trace.L - 1 ? "(from O_t)" : "(from the layer above)");
  put("dh_here", here ?? "…");
  put("dh_future", here === null ? "…" : layer.dH[t][j] - here);
  slots.check.textContent = `‖dL/dH_t‖ recomputed from the ${trace.H} values: ${fmt(norm(layer.dH[t]), 6)}. The part from t+1 is what BPTT carries back through W_hh; watch it shrink or grow step after step.`;
}

/**
 * The part of dL/dH_t[j] that does not come from step t+1: from this step's output (top layer:
 * Σ_q dO_t[q] W_hq[j, q], with W_hq = head.weightᵀ) or from the layer above (Σ_k dA_t[k]
 * weight_ih[k, j] of layer + 1). Null without the weights.
 */
function gradientFromThisStep(trace, layerIndex, t, j) {
  const w = trace.weights;
  if (!w) return null;
  if (layerIndex < trace.L - 1) {
    const above = trace.layers[layerIndex + 1];
    const ih = w[`rnn.weight_ih_l${layerIndex + 1}`];
    if (!ih || !above.dA) return null;
    const cols = ih.shape[1];
    let sum = 0;
    for (let k = 0; k < ih.shape[0]; k++) sum += above.dA[t][k] * ih.data[k * cols + j];
    return sum;
  }
  const head = w["head.weight"];
  if (!head || !trace.dO) return null;
  const row = trace.sequence ? trace.dO[t] : t === trace.T - 1 ? trace.dO[0] : null;
  if (!row) return 0;
  const dO = asRow(row);
  let sum = 0;
  for (let q = 0; q < dO.length; q++) sum += dO[q] * head.data[q * head.shape[1] + j];
  return sum;
}

export function update(state, trace) {
  if (!trace) return;
  const backward = state.phase === "backward" && trace.hasBackward;
  const key = `${traceKey(trace)}|${backward}|${state.layer}`;
  if (key !== builtKey) {
    build(trace, state, backward);
    builtKey = key;
  }
  typeset(el); // the symbolic lines, once KaTeX has loaded
  put("t", stepLabel(state.t, trace.T));
  slots.check.hidden = !state.check;
  if (backward) fillBackward(trace, state);
  else fillForward(trace, state);
  const first = backward ? state.t === trace.T - 1 : state.t === 0;
  const last = trace.T - 1 === state.t;
  const lines = codeFor(trace, backward, state.layer);
  codeLines.forEach((span, k) => {
    // many-to-one: the output line runs once, after the loop (forward) or before it (backward)
    const once = !trace.sequence && ((!backward && k === lines.length - 1) || (backward && k === 0));
    const active = once ? last : k === 0 ? first : k === 1 || k >= 2;
    span.classList.toggle("active", active);
  });
  codeLines[1].textContent = `${lines[1]}   # t = ${state.t}`;
}
