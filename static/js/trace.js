// The trace the views draw: one forward + backward pass of one sequence, as the API returned it,
// with the sizes spelled out and the weights (PyTorch layout) at hand for the equation view.

let nextId = 1;

// The cell state travels with the gates in a forward answer; it is not a block of the weights.
const CELL_STATE = "C";

/**
 * config: the model config; sample: {inputs (T, D), targets, meta, length?}; forward: the body of
 * POST .../forward (hidden states, gates, spectral radii); backward: the body of
 * POST .../backward (loss, gradients, dL/dH_t) or null; weights: the parsed safetensors
 * {name: {shape, data}} or null.
 */
export function buildTrace({ modelId, config, task, sample, forward, backward, weights }) {
  const inputs = sample.inputs;
  const T = inputs.length;
  const sequence = config.output_mode !== "last";
  const back = backward?.trace.layers || [];
  const layers = forward.trace.layers.map((layer, k) => ({
    H: layer.H,
    A: layer.A,
    gates: layer.gates || {},
    dH: back[k]?.dH || null,
    dA: back[k]?.dA || null,
    dH_norm: back[k]?.dH_norm || null,
    step_grad_norms: back[k]?.step_grad_norms || null,
    jacobian_norms: back[k]?.jacobian_norms || null,
    dC: back[k]?.dC || null, // LSTM: (T, H) total dL/dC_t
    // a bidirectional layer's reverse direction, indexed by input step as the API answers it
    reverse: layer.reverse
      ? { H: layer.reverse.H, A: layer.reverse.A, gates: layer.reverse.gates || {}, dH: back[k]?.reverse?.dH || null }
      : null,
  }));
  const dO = backward?.trace.dO;
  return {
    id: nextId++,
    modelId,
    config,
    task,
    meta: sample.meta || {},
    T,
    // the sequence's real steps: t ≥ length is padding (a sequence of a padded batch), else T
    length: sample.length ?? T,
    D: config.input_size,
    H: config.hidden_size,
    Q: config.output_size,
    L: layers.length,
    cell: config.cell,
    // in the server's order, which is the order of the stacked weight blocks (PyTorch's)
    gateNames: Object.keys(layers[0]?.gates || {}).filter((name) => name !== CELL_STATE),
    sequence,
    inputs,
    targets: sample.targets,
    outputs: sequence ? forward.outputs : [forward.outputs],
    logits: sequence ? forward.logits : [forward.logits],
    layers,
    hasBackward: Boolean(backward),
    loss: backward?.loss ?? null,
    grads: backward?.grads || null,
    grad_norms: backward?.grad_norms || null,
    dO: dO ? (sequence ? dO : [dO]) : null,
    headStepNorms: backward?.trace.head?.step_grad_norms || null,
    spectral: forward.trace.spectral_radius || [],
    finalState: forward.trace.final_state,
    weights: weights || null,
  };
}

/** Whether step t is padding (after the sequence's own end). */
export function isPadding(trace, t) {
  return t >= trace.length;
}

/** values (one per step) with the padded steps' null: a chart leaves them blank, never a value. */
export function realOnly(trace, values) {
  return trace.length === trace.T ? values : values.map((v, t) => (t < trace.length ? v : null));
}

/** The output row of step t, or null when the model has none there ("last" mode). */
export function outputAt(trace, t) {
  if (trace.sequence) return trace.outputs[t] ?? null;
  return t === trace.T - 1 ? trace.outputs[0] : null;
}

export function targetAt(trace, t) {
  if (trace.sequence) return trace.targets?.[t] ?? null;
  return t === trace.T - 1 ? trace.targets : null;
}

/** A PyTorch-layout matrix (rows, cols) as {rows, cols, at(r, c)}. */
export function matrix(weights, name) {
  const tensor = weights?.[name];
  if (!tensor) return null;
  const [rows, cols = 1] = tensor.shape;
  return { rows, cols, data: tensor.data, at: (r, c) => tensor.data[r * cols + c] };
}

/**
 * One unit's pre-activation split into its terms, from the weights: for gate block k, unit j,
 * (X_t W_xh)[j], (H_{t-1} W_hh)[j], and the bias. W_xh = weight_ihᵀ, so (X_t W_xh)[j] =
 * Σ_d X_t[d] weight_ih[k·H + j, d]. Returns null without weights.
 */
export function preactivationTerms(trace, layer, t, block, unit) {
  const w = trace.weights;
  if (!w) return null;
  const ih = matrix(w, `rnn.weight_ih_l${layer}`);
  const hh = matrix(w, `rnn.weight_hh_l${layer}`);
  const bih = w[`rnn.bias_ih_l${layer}`]?.data;
  const bhh = w[`rnn.bias_hh_l${layer}`]?.data;
  if (!ih || !hh) return null; // a model without biases (bias "none") adds zeros
  const row = block * trace.H + unit;
  const x = layer === 0 ? trace.inputs[t] : trace.layers[layer - 1].H[t];
  const hPrev = t > 0 ? trace.layers[layer].H[t - 1] : null;
  let xw = 0;
  for (let d = 0; d < ih.cols; d++) xw += x[d] * ih.at(row, d);
  let hw = 0;
  if (hPrev) for (let h = 0; h < hh.cols; h++) hw += hPrev[h] * hh.at(row, h);
  return { xw, hw, bias_ih: bih ? bih[row] : 0, bias_hh: bhh ? bhh[row] : 0 };
}
