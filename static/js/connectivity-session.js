// Input connectivity for the cursor's output step: asked of the server through api.js whenever
// the trace or the cursor's step changes (after a pause while playing, so that a played
// sequence asks once it rests), and put in the store as `connectivity`. An answer for a trace
// or a step the page has left is dropped.

import * as api from "./api.js";
import { set, state, watch } from "./state.js";

const PAUSE_PLAYING_MS = 400;
const PAUSE_MS = 60;

let timer = 0;
let ticket = 0;

/** The output step the cursor's t stands for: t itself, or T − 1 for a many-to-one model. */
export function outputStep(trace, t) {
  return trace.sequence ? Math.min(t, trace.T - 1) : trace.T - 1;
}

const GATES = { rnn: 1, lstm: 4, gru: 3 };

/** Why the server would refuse this trace's connectivity (its cost bound), or "" when it would not. */
function refusal(trace) {
  const c = trace.config;
  if (c.bidirectional) return "The input connectivity is computed for unidirectional models only.";
  const cost = c.output_size * trace.T * (c.input_size + c.num_layers * GATES[c.cell] * c.hidden_size);
  const limit = state.catalogue?.choices?.limits?.max_elements ?? Infinity;
  return cost > limit
    ? `Q·T·(D + L·G·H) = ${cost.toLocaleString("en")} is above the server's bound of ${limit.toLocaleString("en")} (RNN_EXPLORER_MAX_ELEMENTS).`
    : "";
}

async function ask(trace, t) {
  const mine = ++ticket;
  let answer;
  if (state.trace !== trace) return; // its model may be gone already
  const refused = refusal(trace);
  if (refused) {
    set({ connectivity: { traceId: trace.id, t, error: refused } });
    return;
  }
  try {
    const body = await api.connectivity(trace.modelId, { inputs: trace.inputs, t });
    answer = { traceId: trace.id, t, norms: body.norms, reach_90: body.reach_90 };
  } catch (error) {
    answer = { traceId: trace.id, t, error: error instanceof Error ? error.message : String(error) };
  }
  if (mine !== ticket || state.trace !== trace || outputStep(trace, state.t) !== t) return;
  set({ connectivity: answer });
}

function schedule(current) {
  const trace = current.trace;
  clearTimeout(timer);
  if (!trace) return;
  const t = outputStep(trace, current.t);
  const shown = current.connectivity;
  if (shown && shown.traceId === trace.id && shown.t === t) return;
  ticket += 1; // whatever is under way is for another step now
  timer = setTimeout(() => ask(trace, t), current.playing ? PAUSE_PLAYING_MS : PAUSE_MS);
}

export function init() {
  watch(["trace", "t", "playing"], schedule);
}
