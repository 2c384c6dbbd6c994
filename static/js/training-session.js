// Training the model on show: start a session on the server, follow its metrics over the
// WebSocket until its `end` frame, and pause / resume / step / stop it. Each control's answer
// comes once the session's worker has obeyed, so the state the page shows is the server's
// answer. The session (its id, status, step and metric records) lives in the store.

import * as api from "./api.js";
import { refresh } from "./model-session.js";
import { set, state } from "./state.js";

// About this many points on the loss curve (at least 30 for any number of steps): a session
// reports every max(1, ⌊steps / 50⌋) steps, whatever the task's default.
const REPORTS_PER_SESSION = 50;
// While the weights change, the trace on show is refreshed at most this often (ms), only while a
// tab whose views draw it is on show (Explore's views; Train's task results), and not within
// this long of a cursor move or a click on a training control.
const TRACE_TABS = new Set(["explore", "train"]);
const REFRESH_INTERVAL = 1000;
// A refresh of a large trace keeps the page busy for a while (its pass, decoding, derivation and
// drawing: ~0.2–0.4 s at T = 1000, H = 128): the next one waits at least this many times as long
// as the last took, so that refreshing takes at most about a tenth of the page's time.
const REFRESH_COST_FACTOR = 9;
const QUIET_AFTER_STEP = 1000;
// Metric frames that arrive within this long of each other are drawn together (ms).
const DRAW_EVERY = 200;
// Between reports the status line's step is read from the server this often (ms).
const STEP_POLL_INTERVAL = 1000;

let stream = null; // the socket following the session
let stepTimer = 0;
let refreshTimer = 0;
let refreshing = false;
let refreshAgain = false;
let refreshCost = 0; // how long the last refresh took, from request to drawn (ms)
let pending = []; // metric frames not drawn yet
let flushTimer = 0;
let stale = false; // the weights changed while no view drawing the trace was on show
let movedAt = -Infinity; // when the cursor last moved or a control was clicked (performance.now())

/** The TrainRequest of the page's choices: the task, its parameters and the training settings. */
function trainingRequest() {
  const body = { task: state.task, task_params: state.params, seed: state.sampleSeed };
  for (const [key, value] of Object.entries(state.training)) {
    if (value !== undefined && value !== null && !Number.isNaN(value)) body[key] = value;
  }
  const task = state.catalogue?.tasks.find((t) => t.name === state.task);
  const steps = body.steps ?? task?.default_training.steps;
  if (steps) body.report_every = Math.max(1, Math.floor(steps / REPORTS_PER_SESSION));
  return body;
}

/** The session of a SessionInfo answer, keeping the records already received: its metric
 * descriptions (range, chance level) and, once it has ended, why. */
function sessionFrom(info, records = []) {
  return {
    id: info.id, status: info.status, step: info.step, steps: info.steps, records,
    reason: info.reason ?? null, error: info.error ?? null, metrics: info.metrics ?? {},
  };
}

/** The training form changed: its settings into the store (the link follows). */
export function changeSettings(settings) {
  const before = state.training.truncate ?? null;
  set({ training: { ...state.training, ...settings } });
  // the backward pass on show is the one training would take: a new k asks for it again
  if ((state.training.truncate ?? null) !== before && state.trace?.hasBackward) scheduleRefresh();
}

export async function start() {
  if (!state.model) throw new api.ApiError("Build & run a model first.");
  if (!state.task) throw new api.ApiError(`The preset ${state.preset} has no task, so there is nothing to train on: pick a task or one of its presets.`);
  const request = trainingRequest();
  set({ session: { id: null, status: "starting", step: 0, steps: request.steps ?? 0, records: [], metrics: {} } });
  let info;
  try {
    info = await api.startTraining(state.model.id, request);
  } catch (error) {
    set({ session: null });
    throw error;
  }
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
  pending = [];
  const socket = api.openStream(state.model.id, {
    metrics: (frame) => {
      if (state.session?.id !== id) return;
      pending.push(frame);
      if (!flushTimer) flushTimer = setTimeout(() => flushFrames(id), DRAW_EVERY);
    },
    end: (frame) => {
      flushFrames(id);
      const now = state.session;
      if (now?.id === id) set({ session: { ...now, status: frame.status, reason: frame.reason ?? now.reason, error: frame.error ?? now.error } });
      socket.close();
      scheduleRefresh();
    },
    error: (frame) => set({ error: api.describeDetail(frame.detail) }),
  }, (reason) => {
    if (reason) set({ error: reason });
  });
  socket.send({ type: "follow", session: id });
  stream = socket;
  pollStep(id);
}

/** The metric frames received since the last drawing, into the store at once: one drawing of
 * the curves for however many frames came meanwhile. */
function flushFrames(id) {
  clearTimeout(flushTimer);
  flushTimer = 0;
  const frames = pending;
  pending = [];
  const session = state.session;
  if (session?.id !== id || frames.length === 0) return;
  // a frame reports a step already done: it moves the step on, never the status
  const last = frames[frames.length - 1];
  const reason = last.reason ?? session.reason;
  const error = last.error ?? session.error;
  const step = Math.max(session.step, ...frames.map((f) => f.step));
  set({ session: { ...session, step, reason, error, records: [...session.records, ...frames.map(record)] } });
  scheduleRefresh();
}

/** While the session runs, its step between reports (the status line says where it is). */
function pollStep(id) {
  clearTimeout(stepTimer);
  stepTimer = setTimeout(async () => {
    const session = state.session;
    if (session?.id !== id || !["running", "paused"].includes(session.status)) return;
    try {
      const info = await api.getSession(id);
      const now = state.session;
      if (now?.id === id && info.step > now.step && now.status === "running") set({ session: { ...now, step: info.step } });
    } catch {
      // the next report says where it is
    }
    pollStep(id);
  }, STEP_POLL_INTERVAL);
}

/** pause | resume | step | stop; the page shows the state the server answers with. A click
 * counts as stepping: the trace's refresh waits until the controls rest, so that it never
 * holds up the next click. */
export async function control(action) {
  const session = state.session;
  if (!session) return;
  movedAt = performance.now();
  const info = await api.controlTraining(session.id, action);
  if (state.session?.id === info.id) {
    set({ session: sessionFrom(info, state.session.records) });
  }
  scheduleRefresh();
}

/** The cursor moved: a refresh waits until the user has stopped stepping. */
export function cursorMoved() {
  movedAt = performance.now();
}

/** The tab on show changed: weights that changed while no trace view was shown are fetched now. */
export function tabShown(tab) {
  if (TRACE_TABS.has(tab) && stale) scheduleRefresh();
}

/** Refreshes the trace soon; a request while one refresh runs makes another after it (the last weights). */
function scheduleRefresh() {
  if (!TRACE_TABS.has(state.tab)) {
    stale = true; // no view on show draws the trace: fetch it when one is shown again
    return;
  }
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  if (refreshTimer) return;
  refreshTimer = setTimeout(async () => {
    refreshTimer = 0;
    if (state.playing || performance.now() - movedAt < QUIET_AFTER_STEP) {
      scheduleRefresh(); // never while the user steps or plays
      return;
    }
    if (!TRACE_TABS.has(state.tab)) {
      stale = true;
      return;
    }
    stale = false;
    refreshing = true;
    const began = performance.now();
    try {
      await refresh();
    } catch (error) {
      set({ error: error.message });
    } finally {
      refreshing = false;
      refreshCost = performance.now() - began;
    }
    if (refreshAgain) {
      refreshAgain = false;
      scheduleRefresh();
    }
  }, Math.max(REFRESH_INTERVAL, REFRESH_COST_FACTOR * refreshCost));
}
