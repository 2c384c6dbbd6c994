// The arrays a compact trace (`?fields=states`, docs/api.md) leaves out, derived on the page from
// the states it carries, the inputs and the model's weights (PyTorch names and layouts), with the
// equations of docs/design.md. The initial state is zero (the page sends no h0, c0).
//
//   vanilla  A_t = X_t W_xh + H_{t-1} W_hh + b_h                   H_t = φ(A_t)
//            dA_t = dH_t ⊙ φ'(A_t)
//   LSTM     [A_i | A_f | A_g | A_o] = X_t W_xh + H_{t-1} W_hh + b_h
//            i = σ(A_i)  f = σ(A_f)  g = tanh(A_g)  o = σ(A_o)     (C_t comes with the trace)
//            dA = [dC_t ⊙ g ⊙ σ'(A_i), dC_t ⊙ C_{t-1} ⊙ σ'(A_f), dC_t ⊙ i ⊙ (1 − g²),
//                  dH_t ⊙ tanh(C_t) ⊙ σ'(A_o)]                    (dC_t the total dL/dC_t)
//   GRU      [A_r | A_z] = X_t W_xh[:, :2H] + H_{t-1} W_hh[:, :2H] + b_h[:2H]
//            r = σ(A_r)  z = σ(A_z)  N_t = H_{t-1} W_hn + b_hn
//            A_n = X_t W_xn + b_in + r ⊙ N_t   n = tanh(A_n)   (b_hn inside r ⊙ (…), as PyTorch)
//            dA_n = dH_t ⊙ (1 − z) ⊙ (1 − n²)   dA_r = dA_n ⊙ N_t ⊙ σ'(A_r)
//            dA_z = dH_t ⊙ (H_{t-1} − n) ⊙ σ'(A_z)
//
// W_xh = weight_ihᵀ and W_hh = weight_hhᵀ, so (X_t W_xh)[r] = Σ_d X_t[d] weight_ih[r, d]; b_h is
// bias_ih + bias_hh except for the GRU's n block, whose bias_hh part is b_hn.

const GATES = { rnn: [], lstm: ["i", "f", "g", "o"], gru: ["r", "z", "n"] };

const sigmoid = (a) => 1 / (1 + Math.exp(-a));

// φ'(A) from A and H = φ(A)
const PHI_PRIME = {
  tanh: (a, h) => 1 - h * h,
  sigmoid: (a, h) => h * (1 - h),
  relu: (a) => (a > 0 ? 1 : 0), // φ'(0) = 0, as PyTorch
  identity: () => 1,
};

/** Layer k's tensors: weight_ih (G·H, In), weight_hh (G·H, H), bias_ih, bias_hh (G·H,). */
function layerWeights(weights, k, rows) {
  const zeros = new Float64Array(rows);
  const get = (name) => weights[`rnn.${name}_l${k}`]?.data;
  const ih = get("weight_ih");
  const hh = get("weight_hh");
  if (!ih || !hh) throw new Error(`the weights of layer ${k} are missing`);
  return { ih, hh, bih: get("bias_ih") || zeros, bhh: get("bias_hh") || zeros };
}

/** Row r of weight (rows, n) times the vector v (n,): Σ_j weight[r, j] v[j]. */
function rowDot(weight, r, v, n) {
  let sum = 0;
  const base = r * n;
  for (let j = 0; j < n; j++) sum += weight[base + j] * v[j];
  return sum;
}

const rows = (T, width) => Array.from({ length: T }, () => new Float64Array(width));

/**
 * The forward arrays of one layer: A (T, G·H) and the gates {name: (T, H)} (the LSTM's C as
 * sent). X: (T, In) the layer's inputs; H: (T, H) its states; C: (T, H) or null.
 */
function deriveLayer(cell, w, X, H, C) {
  const T = H.length;
  const size = H[0]?.length ?? 0;
  const names = GATES[cell];
  const G = Math.max(names.length, 1);
  const inputs = X[0]?.length ?? 0;
  const A = rows(T, G * size);
  const gates = Object.fromEntries(names.map((name) => [name, rows(T, size)]));
  const zero = new Float64Array(size);
  for (let t = 0; t < T; t++) {
    const x = X[t];
    const hPrev = t > 0 ? H[t - 1] : zero;
    const a = A[t];
    for (let r = 0; r < G * size; r++) {
      const input = rowDot(w.ih, r, x, inputs);
      const recurrent = rowDot(w.hh, r, hPrev, size);
      if (cell === "gru" && r >= 2 * size) {
        // A_n = X_t W_xn + b_in + r ⊙ (H_{t-1} W_hn + b_hn)
        const unit = r - 2 * size;
        a[r] = input + w.bih[r] + gates.r[t][unit] * (recurrent + w.bhh[r]);
      } else {
        a[r] = input + (w.bih[r] + w.bhh[r]) + recurrent;
      }
      if (cell === "rnn") continue;
      const block = Math.floor(r / size);
      const name = names[block];
      const squash = name === "g" || name === "n" ? Math.tanh : sigmoid;
      gates[name][t][r - block * size] = squash(a[r]);
    }
  }
  if (cell === "lstm") gates.C = C;
  return { A, gates };
}

/**
 * Fills in a compact forward answer's layers, in place: A and the gates from H (and C), the
 * inputs (T, D) and the weights. A full answer (its layers have A) is left as it is.
 */
export function deriveForward(config, inputs, weights, forward) {
  const layers = forward.trace.layers;
  if (!layers.length || layers[0].A) return forward;
  const G = Math.max(GATES[config.cell].length, 1);
  layers.forEach((layer, k) => {
    const w = layerWeights(weights, k, G * config.hidden_size);
    const X = k === 0 ? inputs : layers[k - 1].H;
    const { A, gates } = deriveLayer(config.cell, w, X, layer.H, layer.C ?? null);
    layer.A = A;
    layer.gates = gates;
    delete layer.C;
  });
  return forward;
}

/** dA (T, G·H) of one layer from its dH (and dC) and its forward arrays. */
function deriveLayerGrad(cell, nonlinearity, w, forwardLayer, back) {
  const { H, A, gates } = forwardLayer;
  const T = H.length;
  const size = H[0]?.length ?? 0;
  const dH = back.dH;
  if (cell === "rnn") {
    const derivative = PHI_PRIME[nonlinearity];
    if (!derivative) throw new Error(`unknown nonlinearity ${nonlinearity}`);
    return A.map((a, t) => a.map((value, j) => dH[t][j] * derivative(value, H[t][j])));
  }
  const dA = rows(T, (cell === "lstm" ? 4 : 3) * size);
  const zero = new Float64Array(size);
  for (let t = 0; t < T; t++) {
    const d = dA[t];
    const g = (name) => gates[name][t];
    if (cell === "lstm") {
      const [i, f, gg, o, C, dC] = [g("i"), g("f"), g("g"), g("o"), gates.C[t], back.dC[t]];
      const cPrev = t > 0 ? gates.C[t - 1] : zero;
      for (let j = 0; j < size; j++) {
        d[j] = dC[j] * gg[j] * (i[j] * (1 - i[j]));
        d[size + j] = dC[j] * cPrev[j] * (f[j] * (1 - f[j]));
        d[2 * size + j] = dC[j] * i[j] * (1 - gg[j] * gg[j]);
        d[3 * size + j] = dH[t][j] * Math.tanh(C[j]) * (o[j] * (1 - o[j]));
      }
    } else {
      const [r, z, n] = [g("r"), g("z"), g("n")];
      const hPrev = t > 0 ? H[t - 1] : zero;
      for (let j = 0; j < size; j++) {
        // N_t = H_{t-1} W_hn + b_hn
        const N = rowDot(w.hh, 2 * size + j, hPrev, size) + w.bhh[2 * size + j];
        const dAn = dH[t][j] * (1 - z[j]) * (1 - n[j] * n[j]);
        d[j] = dAn * N * (r[j] * (1 - r[j]));
        d[size + j] = dH[t][j] * (hPrev[j] - n[j]) * (z[j] * (1 - z[j]));
        d[2 * size + j] = dAn;
      }
    }
  }
  return dA;
}

/**
 * Fills in a compact backward answer's layers, in place: dA from dH (and dC), the derived
 * forward answer and the weights. A full answer (its layers have dA) is left as it is.
 */
export function deriveBackward(config, weights, forward, backward) {
  const layers = backward.trace.layers;
  if (!layers.length || layers[0].dA) return backward;
  const G = Math.max(GATES[config.cell].length, 1);
  layers.forEach((layer, k) => {
    const w = layerWeights(weights, k, G * config.hidden_size);
    layer.dA = deriveLayerGrad(config.cell, config.nonlinearity, w, forward.trace.layers[k], layer);
  });
  return backward;
}
