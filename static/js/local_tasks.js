// Two tasks the page can sample by itself, described as GET /api/v1/tasks describes its tasks.
// They keep the explorer usable against a server without the task routes (an older version, or
// the bare engine API): forward and backward need only inputs and targets.

function sineSample(seed, params) {
  const T = params.length;
  const phase = (seed * 0.7853981633974483) % (2 * Math.PI);
  const value = (t) => Math.sin(2 * Math.PI * params.frequency * t + phase);
  const inputs = Array.from({ length: T }, (_, t) => [value(t)]);
  const targets = params.mode === "sequence" ? Array.from({ length: T }, (_, t) => [value(t + 1)]) : [value(T)];
  return { inputs, targets, meta: { phase } };
}

function additionSample(seed, params) {
  const bits = params.bits;
  const half = 1 << (bits - 1);
  // a small deterministic generator, so the same seed gives the same pair
  const a = (seed * 2654435761 + 12345) % half;
  const b = (seed * 40503 + 977) % half;
  const bit = (value, k) => (value >> k) & 1;
  const inputs = Array.from({ length: bits }, (_, t) => [bit(a, t), bit(b, t)]);
  const targets = Array.from({ length: bits }, (_, t) => [bit(a + b, t)]);
  return { inputs, targets, meta: { a, b, sum: a + b } };
}

export const LOCAL_TASKS = [
  {
    name: "sine",
    title: "Sine wave",
    description: "Predict the next value of sin(2π f t + φ) from the last T values.",
    params: {
      length: { kind: "int", default: 50, min: 2, max: 1000, description: "T: how many past values the network reads" },
      frequency: { kind: "float", default: 0.05, min: 0.001, max: 0.5, description: "f in cycles per step" },
      mode: { kind: "choice", default: "sequence", choices: ["next", "sequence"], description: "next: one prediction after T steps; sequence: one at every step" },
    },
    default_config: {
      cell: "rnn", input_size: 1, hidden_size: 16, output_size: 1, nonlinearity: "tanh", head: "identity",
      loss: "mse", output_mode: "sequence", init: "pytorch", seed: 0,
    },
    default_training: { optimizer: "adam", lr: 0.01, steps: 300, batch_size: 16 },
    sample: sineSample,
  },
  {
    name: "binary_addition",
    title: "Binary addition",
    description: "Two numbers fed one bit per step, least significant first; the network writes the bits of their sum and must carry.",
    params: {
      bits: { kind: "int", default: 8, min: 2, max: 8, description: "bits of the sum; operands have one bit fewer" },
    },
    default_config: {
      cell: "rnn", input_size: 2, hidden_size: 16, output_size: 1, nonlinearity: "tanh", head: "sigmoid",
      loss: "bce", output_mode: "sequence", init: "pytorch", seed: 0,
    },
    default_training: { optimizer: "adam", lr: 0.05, steps: 500, batch_size: 32 },
    sample: additionSample,
  },
];

/** The task's sample for `seed`, with its params filled in from the defaults. */
export function localSample(task, seed, params) {
  const values = {};
  for (const [name, spec] of Object.entries(task.params)) values[name] = params[name] ?? spec.default;
  return task.sample(seed, values);
}
