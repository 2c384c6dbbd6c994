// Continuing the character model's text: one character at a time, drawn from the softmax of the
// model's last output at a temperature, fed back in from the state the model ended in.

import * as api from "./api.js";
import { set, state } from "./state.js";

// The longest continuation asked for at once (one forward request per character).
const LONGEST_CONTINUATION = 200;

/** An index drawn from softmax(logits / temperature). */
function softmaxSample(logits, temperature) {
  const scaled = Array.from(logits, (v) => v / temperature);
  const top = Math.max(...scaled);
  const weights = scaled.map((v) => Math.exp(v - top));
  const total = weights.reduce((s, v) => s + v, 0);
  let r = Math.random() * total;
  for (let k = 0; k < weights.length; k++) {
    r -= weights[k];
    if (r <= 0) return k;
  }
  return weights.length - 1;
}

async function continuation(trace, temperature, count) {
  const vocab = trace.meta.vocab;
  let result = await api.forward(trace.modelId, { inputs: trace.inputs });
  let logits = result.logits[result.logits.length - 1];
  let text = "";
  for (let k = 0; k < Math.min(count, LONGEST_CONTINUATION); k++) {
    const next = softmaxSample(logits, temperature);
    text += vocab[next];
    const oneHot = vocab.map((_, i) => (i === next ? 1 : 0));
    const body = { inputs: [oneHot], h0: result.trace.final_state.h };
    if (result.trace.final_state.c) body.c0 = result.trace.final_state.c;
    result = await api.forward(trace.modelId, body);
    logits = result.logits[result.logits.length - 1];
  }
  return text;
}

/** Samples `count` characters after the text on show; the result goes to state.sampled. */
export async function sampleText(temperature, count) {
  const trace = state.trace;
  if (!trace?.meta?.vocab) return;
  set({ sampled: { traceId: trace.id, pending: true, text: "…" } });
  try {
    set({ sampled: { traceId: trace.id, pending: false, text: await continuation(trace, temperature, count) } });
  } catch (error) {
    set({ sampled: { traceId: trace.id, pending: false, text: `Sampling failed: ${error.message}` } });
  }
}
