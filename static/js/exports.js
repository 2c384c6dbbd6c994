// Downloads of what is on show: the unrolled network as PNG, the weights as safetensors (the
// server's file), the trace as JSON and the selected layer's hidden states as CSV.

import * as api from "./api.js";
import { state } from "./state.js";
import { toPNG } from "./views/unrolled.js";

function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  // the download has started by then; the object URL is not needed any more
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// a binary trace's rows are typed arrays: written as lists, as the API's JSON answer has them
const typedAsLists = (_key, value) => (ArrayBuffer.isView(value) ? Array.from(value) : value);

function traceJSON(trace) {
  const layers = trace.layers.map((layer) => ({
    H: layer.H, A: layer.A, gates: layer.gates, dH: layer.dH, dA: layer.dA, dH_norm: layer.dH_norm,
    step_grad_norms: layer.step_grad_norms, jacobian_norms: layer.jacobian_norms,
  }));
  return {
    model: { id: trace.modelId, config: trace.config }, task: trace.task, sample_seed: state.sampleSeed,
    inputs: trace.inputs, targets: trace.targets, outputs: trace.outputs, loss: trace.loss,
    grad_norms: trace.grad_norms, spectral_radius: trace.spectral, layers,
  };
}

/** H_t of the selected layer, one row per step, with ‖dL/dH_t‖ when there is a backward pass. */
function traceCSV(trace) {
  const layer = trace.layers[Math.min(state.layer, trace.L - 1)];
  const header = ["t", ...Array.from({ length: trace.H }, (_, j) => `H_${j}`)];
  if (layer.dH_norm) header.push("dL_dH_norm");
  const lines = [header.join(",")];
  for (let t = 0; t < trace.T; t++) {
    const row = [t, ...layer.H[t]];
    if (layer.dH_norm) row.push(layer.dH_norm[t]);
    lines.push(row.join(","));
  }
  return `${lines.join("\n")}\n`;
}

/** kind: "unrolled" (PNG) | "weights" (safetensors) | "json" (the trace) | "csv" (H_t). */
export async function download(kind) {
  const trace = state.trace;
  if (!trace) throw new api.ApiError("Build & run a model first: there is nothing to download yet.");
  // a shapes-only preset has no task: its name (in letters and digits) stands in
  const base = `rnn-${trace.task || state.preset.replace(/[^A-Za-z0-9]+/g, "_")}-${trace.cell}`;
  if (kind === "unrolled") saveBlob(await toPNG(), `${base}-unrolled-t${state.t}.png`);
  else if (kind === "weights") saveBlob(await api.weightsBlob(trace.modelId), `${base}.safetensors`);
  else if (kind === "json") saveBlob(new Blob([JSON.stringify(traceJSON(trace), typedAsLists)], { type: "application/json" }), `${base}-trace.json`);
  else saveBlob(new Blob([traceCSV(trace)], { type: "text/csv" }), `${base}-hidden.csv`);
}
