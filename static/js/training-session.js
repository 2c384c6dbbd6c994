// Training the model on show: start a session on the server, follow its metrics over the
// WebSocket until its `end` frame, and pause / resume / step / stop it. Each control's answer
// comes once the session's worker has obeyed, so the state the page shows is the server's
// answer. The session (its id, status, step and metric records) lives in the store.

import * as api from "./api.js";
import { refresh } from "./model-session.js";
import { set, state } from "./state.js";

// About this many points on the loss curve when the settings do not say how often to report.
const REPORTS_PER_SESSION = 60;
// While the weights change, the trace on show is refreshed at most this often (ms).
const REFRESH_INTERVAL = 500;

let stream = null; // the socket following the session
let refreshTimer = 0;
let refreshing = false;
let refreshAgain = false;

/** The TrainRequest of the page's choices: the task, its parameters and the training settings. */
function trainingRequest() {
  const body = { task: state.task, task_params: state.params, seed: state.sampleSeed };
  for (const [key, value] of Object.entries(state.training)) {
    if (value !== undefined && value !== null && !Number.isNaN(value)) body[key] = value;
  }
  if (body.steps && !body.report_every) body.report_every = Math.max(1, Math.round(body.steps / REPORTS_PER_SESSION));
  return body;
}

/** The session of a SessionInfo answer, keeping the records already received. */
function sessionFrom(info, records = []) {
  return { id: info.id, status: info.status, step: info.step, steps: info.steps, records };
}

/** The training form changed: its settings into the store (the link follows). */
export function changeSettings(settings) {
  set({ training: { ...state.training, ...settings } });
}

export async function start() {
  if (!state.model) throw new api.ApiError("Build & run a model first.");
  if (!state.task) throw new api.ApiError(`The preset ${state.preset} has no task, so there is nothing to train on: pick a task or one of its presets.`);
  const info = await api.startTraining(state.model.id, trainingRequest());
  set({ session: sessionFrom(info) });
  follow(info.id);
}

/** One metrics frame as a record of the curves: task metrics flat, the validation loss named so. */
function record(frame) {
  const flat = { step: frame.step, loss: frame.loss, grad_norm: frame.grad_norm, layer_grad_norms: frame.layer_grad_norms, dH_norm: frame.dH_norm };
  for (const [key, value] of Object.entries(frame.metrics || {})) flat[key === "loss" ? "val_loss" : key] = value;
  return flat;
}

function follow(id) {
  stream?.close();
  const socket = api.openStream(state.model.id, {
    metrics: (frame) => {
      const session = state.session;
      if (session?.id !== id) return;
      // a frame reports a step already done: it moves the step on, never the status
      set({ session: { ...session, step: Math.max(session.step, frame.step), records: [...session.records, record(frame)] } });
      scheduleRefresh();
    },
    end: (frame) => {
      if (state.session?.id === id) set({ session: { ...state.session, status: frame.status } });
      socket.close();
      scheduleRefresh();
    },
    error: (frame) => set({ error: api.describeDetail(frame.detail) }),
  }, (reason) => {
    if (reason) set({ error: reason });
  });
  socket.send({ type: "follow", session: id });
  stream = socket;
}

/** pause | resume | step | stop; the page shows the state the server answers with. */
export async function control(action) {
  const session = state.session;
  if (!session) return;
  const info = await api.controlTraining(session.id, action);
  if (state.session?.id === info.id) {
    set({ session: sessionFrom(info, state.session.records) });
  }
  scheduleRefresh();
}

/** Refreshes the trace soon; a request while one refresh runs makes another after it (the last weights). */
function scheduleRefresh() {
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  if (refreshTimer) return;
  refreshTimer = setTimeout(async () => {
    refreshTimer = 0;
    refreshing = true;
    try {
      await refresh();
    } catch (error) {
      set({ error: error.message });
    } finally {
      refreshing = false;
    }
    if (refreshAgain) {
      refreshAgain = false;
      scheduleRefresh();
    }
  }, REFRESH_INTERVAL);
}
