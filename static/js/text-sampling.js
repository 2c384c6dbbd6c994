// Continuing the character model's text in one request: POST /models/{id}/generate steps the
// cell in the server's engine, carrying its state, and answers the whole continuation with the
// probability of each chosen character and the seed that reproduces it.

import * as api from "./api.js";
import { set, state } from "./state.js";

/** The text on show, read off the trace's one-hot inputs. */
function textOnShow(trace) {
  const vocab = trace.meta.vocab;
  return trace.inputs.map((row) => vocab[Array.prototype.indexOf.call(row, Math.max(...row))]).join("");
}

/**
 * Samples `count` characters after `prompt` (empty: after the text on show) at `temperature`,
 * among the `topK` likeliest (null: all); the answer goes to state.sampled.
 */
export async function sampleText(temperature, count, prompt = "", topK = null) {
  const trace = state.trace;
  if (!trace?.meta?.vocab) return;
  const waiting = { traceId: trace.id, pending: true, prompt, text: "…", seed: null, probabilities: [] };
  set({ sampled: waiting });
  const body = { prefix: prompt || textOnShow(trace), length: count, temperature };
  if (topK) body.top_k = topK;
  try {
    const answer = await api.generate(trace.modelId, body);
    set({
      sampled: {
        traceId: trace.id, pending: false, prompt, text: answer.continuation,
        seed: answer.seed, probabilities: answer.probabilities,
      },
    });
  } catch (error) {
    set({ sampled: { ...waiting, pending: false, text: `Sampling failed: ${error.message}` } });
  }
}
