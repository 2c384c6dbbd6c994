// The only module that talks to the server: REST with fetch, the stream over a WebSocket.
// Every failure becomes an ApiError whose message is fit to show the user as is.

import { decodeTrace, TRACE_MEDIA_TYPE } from "./binary-trace.js";

const BASE = "/api/v1";

// A read-only share link's token (`?share=` on the page's URL), passed on to every call: the
// REST calls send it as X-Share-Token, the stream (which cannot send headers) in its query.
export const SHARE_TOKEN = new URLSearchParams(location.search).get("share") || "";

export class ApiError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/** FastAPI's `detail` (a string, or pydantic's list of {loc, msg}) as one readable message. */
export function describeDetail(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((item) => {
        const where = Array.isArray(item.loc) ? item.loc.filter((p) => p !== "body").join(" → ") : "";
        return where ? `${where}: ${item.msg}` : String(item.msg ?? JSON.stringify(item));
      })
      .join("\n");
  }
  return detail === undefined ? "" : JSON.stringify(detail);
}

async function request(method, path, { json, body, expect = "json" } = {}) {
  const init = { method, headers: SHARE_TOKEN ? { "X-Share-Token": SHARE_TOKEN } : {} };
  if (expect === "trace") init.headers.Accept = `${TRACE_MEDIA_TYPE}, application/json;q=0.5`;
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    // rows of a decoded binary trace (typed arrays) go back to the server as lists
    init.body = JSON.stringify(json, (_key, value) => (ArrayBuffer.isView(value) ? Array.from(value) : value));
  } else if (body !== undefined) {
    init.body = body;
  }
  let response;
  try {
    response = await fetch(BASE + path, init);
  } catch {
    throw new ApiError(`Cannot reach the server (${method} ${BASE}${path}). Is it running?`);
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const payload = await response.json();
      const detail = describeDetail(payload.detail);
      if (detail) message = detail;
    } catch {
      // Not JSON: the status line is all there is to say.
    }
    if (response.status === 404 && message === "Not Found") {
      message = `The server has no ${method} ${BASE}${path} route (404).`;
    }
    throw new ApiError(message, response.status);
  }
  if (expect === "buffer") return response.arrayBuffer();
  if (expect === "trace") {
    const type = response.headers.get("Content-Type") || "";
    return type.startsWith(TRACE_MEDIA_TYPE) ? decodeTrace(await response.arrayBuffer()) : response.json();
  }
  if (expect === "blob") return response.blob();
  return response.json();
}

/** What a client may choose: the model's and training's choices, the defaults and the limits. */
export const getChoices = () => request("GET", "/choices");
export const listTasks = () => request("GET", "/tasks");
export const listPresets = () => request("GET", "/presets");
/** The lessons' outlines (name, title, tutorial, summary, the steps' titles). */
export const listLessons = () => request("GET", "/lessons");
/** One lesson whole: each step's prose (HTML) and setup. */
export const getLesson = (name) => request("GET", `/lessons/${encodeURIComponent(name)}`);

export function sampleTask(task, seed, params = {}) {
  const q = new URLSearchParams({ seed: String(seed) });
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined) q.set(key, String(value));
  }
  return request("GET", `/tasks/${encodeURIComponent(task)}/sample?${q}`);
}

/** The same with the parameters in a JSON body (a long text such as a corpus). */
export const sampleTaskPost = (task, seed, params) =>
  request("POST", `/tasks/${encodeURIComponent(task)}/sample`, { json: { seed, params } });

/** A shapes-only preset's example: {preset, seed, inputs (B, T, D), config} (no targets). */
export const presetExample = (name, seed) =>
  request("GET", `/presets/${encodeURIComponent(name)}/example?${new URLSearchParams({ seed: String(seed) })}`);

export const createModel = (config, name) =>
  request("POST", "/models", { json: name ? { config, name } : { config } });
export const getModel = (id) => request("GET", `/models/${encodeURIComponent(id)}`);
/** Deletes a model as the page goes away (keepalive: the request outlives the page). */
export function forgetModel(id) {
  fetch(`${BASE}/models/${encodeURIComponent(id)}`, { method: "DELETE", keepalive: true }).catch(() => {});
}
export const deleteModel = (id) => request("DELETE", `/models/${encodeURIComponent(id)}`, { expect: "buffer" });
/** Forward / backward answers, fetched as binary traces: innermost rows are typed arrays. */
// `states`: the compact trace (`?fields=states`), whose other arrays derive.js derives.
const tracePath = (id, route, states) =>
  `/models/${encodeURIComponent(id)}/${route}${states ? "?fields=states" : ""}`;
export const forward = (id, body, { states = false } = {}) =>
  request("POST", tracePath(id, "forward", states), { json: body, expect: "trace" });
export const backward = (id, body, { states = false } = {}) =>
  request("POST", tracePath(id, "backward", states), { json: body, expect: "trace" });
/** A character model's continuation: body {prefix, length, temperature, top_k?, seed?} →
 * {text, prefix, continuation, probabilities, seed, …}. */
export const generate = (id, body) =>
  request("POST", `/models/${encodeURIComponent(id)}/generate`, { json: body });
/** ‖∂Y_t/∂X_s‖_F for every input step s: body {inputs, t, h0?, c0?} → {t, norms, output_steps, reach_90}. */
export const connectivity = (id, body) =>
  request("POST", `/models/${encodeURIComponent(id)}/connectivity`, { json: body });
export const weightsBlob = (id) => request("GET", `/models/${encodeURIComponent(id)}/weights`, { expect: "blob" });

/** The model's weights as {PyTorch name: {shape, data: Float64Array}}. */
export async function weights(id) {
  const buffer = await request("GET", `/models/${encodeURIComponent(id)}/weights`, { expect: "buffer" });
  return parseSafetensors(buffer);
}

export function importWeights(file, config, name) {
  const form = new FormData();
  form.append("weights", file, file.name);
  form.append("config", JSON.stringify(config));
  if (name) form.append("name", name);
  return request("POST", "/models/import", { body: form });
}

export const startTraining = (id, trainingConfig) =>
  request("POST", `/models/${encodeURIComponent(id)}/train`, { json: trainingConfig });
export const getSession = (session) => request("GET", `/training/${encodeURIComponent(session)}`);
export const sessionHistory = (session, afterStep = -1) =>
  request("GET", `/training/${encodeURIComponent(session)}/history?after_step=${afterStep}&limit=10000`);
/** pause | resume | step | stop: the answer comes once the session's worker has obeyed. */
export const controlTraining = (session, action) =>
  request("POST", `/training/${encodeURIComponent(session)}/${action}`);

const DTYPES = {
  F64: [8, (view, offset) => view.getFloat64(offset, true)],
  F32: [4, (view, offset) => view.getFloat32(offset, true)],
};

/** safetensors: an 8-byte little-endian header length, a JSON header, then the raw tensors. */
export function parseSafetensors(buffer) {
  const view = new DataView(buffer);
  const headerLength = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, headerLength)));
  const start = 8 + headerLength;
  const tensors = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const kind = DTYPES[info.dtype];
    if (!kind) throw new ApiError(`Weights: tensor ${name} has dtype ${info.dtype}, expected F32 or F64.`);
    const [size, read] = kind;
    const [begin, end] = info.data_offsets;
    const data = new Float64Array((end - begin) / size);
    for (let k = 0; k < data.length; k++) data[k] = read(view, start + begin + k * size);
    tensors[name] = { shape: info.shape, data };
  }
  return tensors;
}

/**
 * Opens the model's stream. `handlers` maps message types ("start", "forward", "backward",
 * "summary", "metrics", "end", "error") to functions; `onClose` is called once when it closes.
 * Binary messages (a run's frames with `format: "binary"`) are decoded as binary traces.
 * Returns {send(message), close()}; messages sent before the socket opens are queued.
 */
export function openStream(id, handlers, onClose = () => {}) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}${BASE}/models/${encodeURIComponent(id)}/stream${SHARE_TOKEN ? `?share=${encodeURIComponent(SHARE_TOKEN)}` : ""}`);
  socket.binaryType = "arraybuffer";
  const queue = [];
  let closed = false;
  socket.addEventListener("open", () => {
    for (const message of queue.splice(0)) socket.send(JSON.stringify(message));
  });
  socket.addEventListener("message", (event) => {
    let message;
    try {
      message = event.data instanceof ArrayBuffer ? decodeTrace(event.data) : JSON.parse(event.data);
    } catch {
      handlers.error?.({ detail: "The stream sent a message that is neither JSON nor a binary frame." });
      return;
    }
    handlers[message.type]?.(message);
  });
  const finish = (reason) => {
    if (closed) return;
    closed = true;
    onClose(reason);
  };
  socket.addEventListener("error", () => finish("The stream's connection failed."));
  socket.addEventListener("close", (event) => finish(event.code === 1000 ? "" : `The stream closed (${event.code}).`));
  return {
    send(message) {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
      else queue.push(message);
    },
    close() {
      closed = true;
      socket.close(1000);
    },
  };
}
