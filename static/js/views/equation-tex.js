// The equation card's symbolic lines, as TeX for KaTeX: the step of the cell on show, forward or
// backward, in the design's names (docs/design.md). The live numbers are equation.js's; these
// lines say what is computed. Layer ℓ > 1 reads the layer below's H where layer 1 reads X.

const PHI = { tanh: "\\tanh", sigmoid: "\\sigma", relu: "\\operatorname{relu}", identity: "" };
// ∂Z stands for ∂L/∂Z, the total gradient of the loss at Z (the design's dZ)
const d = (name) => `\\partial ${name}`;
const NOTATION = "\\partial Z \\text{ is short for } \\partial L / \\partial Z";

/** The step's input for layer (from 0): X_t, or the layer below's H_t. */
function inputOf(layer) {
  return layer === 0 ? "X_t" : `H^{(${layer})}_t`;
}

function forward(cell, nonlinearity, layer) {
  const x = inputOf(layer);
  if (cell === "rnn") {
    const phi = PHI[nonlinearity] ?? "\\varphi";
    const a = `${x} W_{xh} + H_{t-1} W_{hh} + b_h`;
    return [`A_t = ${a}`, phi ? `H_t = ${phi}(A_t)` : "H_t = A_t"];
  }
  if (cell === "lstm") {
    return [
      `[A_i \\mid A_f \\mid A_g \\mid A_o] = ${x} W_{xh} + H_{t-1} W_{hh} + b_h`,
      "i = \\sigma(A_i),\\; f = \\sigma(A_f),\\; g = \\tanh(A_g),\\; o = \\sigma(A_o)",
      "C_t = f \\odot C_{t-1} + i \\odot g",
      "H_t = o \\odot \\tanh(C_t)",
    ];
  }
  return [
    `r = \\sigma(${x} W_{xr} + H_{t-1} W_{hr} + b_r)`,
    `z = \\sigma(${x} W_{xz} + H_{t-1} W_{hz} + b_z)`,
    `n = \\tanh\\big(${x} W_{xn} + b_n + r \\odot (H_{t-1} W_{hn} + b_{hn})\\big)`,
    "H_t = (1 - z) \\odot n + z \\odot H_{t-1}",
  ];
}

function output(head, sequence) {
  const o = sequence ? "O_t = H_t W_{hq} + b_q" : "O = H_{T-1} W_{hq} + b_q";
  const out = sequence ? "O_t" : "O";
  if (head === "softmax") return `${o}, \\quad \\hat{Y} = \\operatorname{softmax}(${out})`;
  if (head === "sigmoid") return `${o}, \\quad \\hat{Y} = \\sigma(${out})`;
  return o;
}

/** dL/dH_t: from the output (top layer) or the layer above, and from step t+1. */
function incoming(cell, top, layer) {
  const here = top
    ? `${d("O_t")} W_{hq}^{\\top}`
    : `${d(`A^{(${layer + 2})}_t`)} W_{xh}^{(${layer + 2})\\top}`;
  if (cell === "gru") {
    return `${d("H_t")} = ${here} + ${d("\\tilde A_{t+1}")} W_{hh}^{\\top} + ${d("H_{t+1}")} \\odot z_{t+1}`;
  }
  return `${d("H_t")} = ${here} + ${d("A_{t+1}")} W_{hh}^{\\top}`;
}

function backward(cell, nonlinearity, top, layer) {
  const x = inputOf(layer);
  const hidden = d(cell === "gru" ? "\\tilde A_t" : "A_t");
  const sums = [`${d("W_{hh}")} = \\sum\\nolimits_t H_{t-1}^{\\top} ${hidden}`, `${d("W_{xh}")} = \\sum\\nolimits_t {${x}}^{\\top} ${d("A_t")}`];
  const lines = [NOTATION, incoming(cell, top, layer)];
  if (cell === "rnn") {
    const slope = { tanh: "(1 - H_t^2)", sigmoid: "H_t (1 - H_t)", relu: "[A_t > 0]" }[nonlinearity];
    const dA = `${d("A_t")} = ${d("H_t")} \\odot \\varphi'(A_t)`;
    lines.push(nonlinearity === "identity" ? `${dA} = ${d("H_t")}` : slope ? `${dA} = ${d("H_t")} \\odot ${slope}` : dA);
  } else if (cell === "lstm") {
    const dC = d("C_t");
    lines.push(`${dC} = ${d("H_t")} \\odot o \\odot (1 - \\tanh^2 C_t) + ${d("C_{t+1}")} \\odot f_{t+1}`);
    lines.push(`${d("A_i")} = ${dC} \\odot g \\odot i(1-i)`, `${d("A_f")} = ${dC} \\odot C_{t-1} \\odot f(1-f)`);
    lines.push(`${d("A_g")} = ${dC} \\odot i \\odot (1-g^2)`, `${d("A_o")} = ${d("H_t")} \\odot \\tanh(C_t) \\odot o(1-o)`);
  } else {
    lines.push(`${d("A_n")} = ${d("H_t")} \\odot (1-z) \\odot (1-n^2)`);
    lines.push(`${d("A_z")} = ${d("H_t")} \\odot (H_{t-1} - n) \\odot z(1-z)`);
    lines.push(`${d("A_r")} = ${d("A_n")} \\odot (H_{t-1} W_{hn} + b_{hn}) \\odot r(1-r)`);
    lines.push(`${d("\\tilde A_t")} = \\big[\\, ${d("A_r")} \\mid ${d("A_z")} \\mid ${d("A_n")} \\odot r \\,\\big] `);
  }
  lines.push(...sums);
  return lines;
}

/**
 * The TeX lines of one step: cell "rnn" | "lstm" | "gru", nonlinearity (the rnn's φ), head
 * ("identity" | "softmax" | "sigmoid"), sequence (an output every step), layer (from 0), top
 * (the layer under the head), backward (the backward pass).
 */
export function texLines({ cell, nonlinearity, head, sequence, layer, top, backward: isBackward }) {
  if (isBackward) return backward(cell, nonlinearity, top, layer);
  const lines = forward(cell, nonlinearity, layer);
  if (top) lines.push(output(head, sequence));
  return lines;
}
