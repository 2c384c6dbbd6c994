// One step of one layer's cell for one unit, every intermediate value of the equations in
// docs/design.md, forward and backward. The server sends H, A, the gates, dL/dH_t, dL/dA_t and
// the LSTM's dL/dC_t; the rest follows here from those and the weights (PyTorch layout), by the
// chain rule written out one factor at a time.

import { preactivationTerms } from "./trace.js";

/** σ′ and tanh′ from the activation's value s: σ′ = s(1 − s), tanh′ = 1 − s². */
const sigmoidSlope = (s) => s * (1 - s);
const tanhSlope = (s) => 1 - s * s;

/**
 * Σ_k dA_h[k] · weight_hh[k, j]: unit j's share of dA_h W_hhᵀ (W_hh = weight_hhᵀ), which is
 * what this step sends back to H_{t−1}. dA_h: (G·H) the gradient of H_{t−1} W_hh.
 */
function throughRecurrentWeights(trace, layer, dA_h, j) {
  const whh = trace.weights?.[`rnn.weight_hh_l${layer}`];
  if (!whh) return null;
  const cols = whh.shape[1];
  let sum = 0;
  for (let k = 0; k < whh.shape[0]; k++) sum += dA_h[k] * whh.data[k * cols + j];
  return sum;
}

/** A block's terms {xw, hw, b} of unit j (null without the weights). */
function terms(trace, layer, t, block, j) {
  const parts = preactivationTerms(trace, layer, t, block, j);
  return parts && { xw: parts.xw, hw: parts.hw, b_ih: parts.bias_ih, b_hh: parts.bias_hh };
}

/** Into v, for each gate `name` (block k of A): its terms xw_, hw_, b_, its A_ and its value. */
function gateTerms(v, trace, layer, t, j, names) {
  const L = trace.layers[layer];
  names.forEach((name, k) => {
    const p = terms(trace, layer, t, k, j);
    v[`xw_${name}`] = p?.xw ?? null;
    v[`hw_${name}`] = p?.hw ?? null;
    v[`b_${name}`] = p ? p.b_ih + p.b_hh : null;
    v[`A_${name}`] = L.A[t][k * trace.H + j];
    v[name] = L.gates[name][t][j];
  });
}

function forwardRnn(trace, layer, t, j) {
  const L = trace.layers[layer];
  const p = terms(trace, layer, t, 0, j);
  return {
    H_prev: t > 0 ? L.H[t - 1][j] : 0,
    xw: p?.xw ?? null,
    hw: p?.hw ?? null,
    b: p ? p.b_ih + p.b_hh : null,
    A: L.A[t][j],
    H: L.H[t][j],
  };
}

function forwardLstm(trace, layer, t, j) {
  const L = trace.layers[layer];
  const g = L.gates;
  const C_prev = t > 0 ? g.C[t - 1][j] : 0;
  const v = { H_prev: t > 0 ? L.H[t - 1][j] : 0, C_prev };
  gateTerms(v, trace, layer, t, j, ["i", "f", "g", "o"]);
  v.fC = v.f * C_prev;
  v.ig = v.i * v.g;
  v.C = g.C[t][j];
  v.tanhC = Math.tanh(v.C);
  v.H = L.H[t][j];
  return v;
}

function forwardGru(trace, layer, t, j) {
  const L = trace.layers[layer];
  const g = L.gates;
  const v = { H_prev: t > 0 ? L.H[t - 1][j] : 0 };
  gateTerms(v, trace, layer, t, j, ["r", "z"]);
  const p = terms(trace, layer, t, 2, j);
  v.xw_n = p?.xw ?? null;
  v.b_n = p?.b_ih ?? null; // b_in; b_hn stays inside the reset product
  v.hw_n = p?.hw ?? null;
  v.b_hn = p?.b_hh ?? null;
  v.hn = p ? p.hw + p.b_hh : null; // H_{t−1} W_hn + b_hn
  v.rhn = v.hn === null ? null : v.r * v.hn;
  v.A_n = L.A[t][2 * trace.H + j];
  v.n = g.n[t][j];
  v.H = L.H[t][j];
  return v;
}

function backwardRnn(trace, layer, t, j) {
  const L = trace.layers[layer];
  return { dH: L.dH[t][j], dA: L.dA[t][j], dH_prev: throughRecurrentWeights(trace, layer, L.dA[t], j) };
}

function backwardLstm(trace, layer, t, j, f) {
  const L = trace.layers[layer];
  const H = trace.H;
  const dH = L.dH[t][j];
  const dC = L.dC ? L.dC[t][j] : null;
  const d = { dH, dC };
  // H_t = o ⊙ tanh(C_t): dO = dH ⊙ tanh(C); the H path's share of dC = dH ⊙ o ⊙ (1 − tanh²C)
  d.do = dH * f.tanhC;
  d.dtanhC = dH * f.o;
  d.dC_via_H = dH * f.o * tanhSlope(f.tanhC);
  // C_t = f ⊙ C_{t−1} + i ⊙ g, with dC the total (from H_t and from C_{t+1})
  if (dC !== null) {
    d.df = dC * f.C_prev;
    d.di = dC * f.g;
    d.dg = dC * f.i;
    d.dC_prev = dC * f.f;
  }
  ["i", "f", "g", "o"].forEach((name, k) => {
    d[`dA_${name}`] = L.dA[t][k * H + j];
  });
  d.dH_prev = throughRecurrentWeights(trace, layer, L.dA[t], j);
  return d;
}

function backwardGru(trace, layer, t, j, f) {
  const L = trace.layers[layer];
  const H = trace.H;
  const dH = L.dH[t][j];
  // H_t = (1 − z) ⊙ n + z ⊙ H_{t−1}
  const d = { dH, dn: dH * (1 - f.z), dz: dH * (f.H_prev - f.n), dH_direct: dH * f.z };
  ["r", "z", "n"].forEach((name, k) => {
    d[`dA_${name}`] = L.dA[t][k * H + j];
  });
  // A_n = X W_xn + b_in + r ⊙ (H_{t−1} W_hn + b_hn)
  d.dr = f.hn === null ? null : d.dA_n * f.hn;
  d.dhn = d.dA_n * f.r;
  // the recurrent product's gradient: [dA_r, dA_z, dA_n ⊙ r] over all units
  const r = L.gates.r[t];
  const dA_h = Array.from(L.dA[t], (value, k) => (k >= 2 * H ? value * r[k - 2 * H] : value));
  d.dH_gates = throughRecurrentWeights(trace, layer, dA_h, j);
  d.dH_prev = d.dH_gates === null ? null : d.dH_gates + d.dH_direct;
  return d;
}

const FORWARD = { rnn: forwardRnn, lstm: forwardLstm, gru: forwardGru };
const BACKWARD = { rnn: backwardRnn, lstm: backwardLstm, gru: backwardGru };

/**
 * Unit j of layer `layer` at step t: {forward, backward}, each a map quantity → number (null
 * where the weights are needed and missing); backward is null without a backward pass. Names:
 * forward H_prev, C_prev, xw_k, hw_k, b_k, A_k, the gates, fC = f⊙C_{t−1}, ig = i⊙g, C, tanhC, H
 * (GRU: b_n = b_in, hw_n, b_hn, hn = H_{t−1}W_hn + b_hn, rhn = r⊙hn); backward dH, dC, dA_k, each gate's
 * gradient (di, df, dg, do; dr, dz, dn), dC_prev = dC⊙f, dC_via_H, dH_prev (this step's part of
 * dL/dH_{t−1}; GRU: dH_gates through W_hh + dH_direct = dH⊙z).
 */
export function cellStep(trace, layer, t, j) {
  const forward = FORWARD[trace.cell](trace, layer, t, j);
  const L = trace.layers[layer];
  const backward = trace.hasBackward && L.dH && L.dA ? BACKWARD[trace.cell](trace, layer, t, j, forward) : null;
  return { forward, backward };
}

/** dL/d(gate) from dL/dA of its pre-activation, for a check: dA = d(gate) · slope(gate). */
export function gateSlope(name, value) {
  return name === "g" || name === "n" ? tanhSlope(value) : sigmoidSlope(value);
}
