// Moving the shared cursor: a step, a jump, the unit and the pass, and playing (the cursor
// steps at `speed` per second on the forward pass, runs into the backward pass, then stops).
// Every move is bounded by the trace on show: by its sequence's own end when it is one of a
// padded batch (steps t ≥ length are padding, never stepped to).

import { set, state, watch } from "./state.js";

let frame = 0; // the pending animation frame while playing
let lastTime = 0;
let carry = 0; // the part of a step due but not yet taken (negative: taken early)

const length = () => state.trace?.length ?? 0;

/** Moves the cursor to step t (within the trace). */
export function goTo(t) {
  const T = length();
  if (T) set({ t: Math.max(0, Math.min(T - 1, t)) });
}

export function step(delta) {
  goTo(state.t + delta);
}

export function selectUnit(unit) {
  const H = state.trace?.H || 1;
  set({ unit: Math.max(0, Math.min(H - 1, Number.isFinite(unit) ? unit : 0)) });
}

export function setPhase(phase) {
  if (phase === "backward" && !state.trace?.hasBackward) return;
  set({ phase });
}

export function togglePlay() {
  if (state.playing) {
    set({ playing: false });
    return;
  }
  const T = length();
  if (!T) return;
  // from the end of a pass, play it again from its start
  if (state.phase === "forward" && state.t >= T - 1) set({ t: 0 });
  if (state.phase === "backward" && state.t <= 0) set({ t: T - 1 });
  set({ playing: true });
}

function tick(now) {
  if (!state.playing || !state.trace) {
    frame = 0;
    return;
  }
  const T = length();
  const elapsed = lastTime ? now - lastTime : 0;
  lastTime = now;
  carry += (elapsed / 1000) * state.speed;
  // rounded, not floored: at a speed near the frame rate a frame a little early still takes its
  // step (the carry, now within ±½ step, keeps the pace) instead of skipping a frame, then two at once
  if (carry >= 0.5) {
    const steps = Math.round(carry);
    carry -= steps;
    if (state.phase === "forward") {
      if (state.t + steps <= T - 1) set({ t: state.t + steps });
      else if (state.trace.hasBackward) set({ phase: "backward", t: T - 1 });
      else set({ t: T - 1, playing: false });
    } else if (state.t - steps >= 0) set({ t: state.t - steps });
    else set({ t: 0, playing: false });
  }
  frame = requestAnimationFrame(tick);
}

/** Starts the play loop whenever the state says playing. */
export function init() {
  watch(["playing"], (current) => {
    if (current.playing && !frame) {
      lastTime = 0;
      carry = 0;
      frame = requestAnimationFrame(tick);
    }
  });
}
