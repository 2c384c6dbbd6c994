// The pass on show replayed over the WebSocket: the server streams its frames (binary, in the
// model's dtype), the cursor follows them, and each frame is checked against the REST trace on
// show, both directions of a bidirectional layer (frame t carries the reverse direction's H←_t,
// the value the unrolled view's reverse row draws at t).

import * as api from "./api.js";
import { set, state } from "./state.js";

export function replay() {
  const expected = state.trace;
  if (!expected) return;
  set({ playing: false });
  let frames = 0;
  let worst = 0; // the largest difference between a streamed number and the trace's
  const compareRow = (got, want) => {
    for (let j = 0; j < want.length; j++) worst = Math.max(worst, Math.abs(got[j] - want[j]));
  };
  // every layer's rows of one direction: frame rows (per layer) against the trace's at step t
  const compareLayers = (rows, pick, t) => rows.forEach((row, k) => {
    const want = pick(expected.layers[k]);
    if (want) compareRow(row, want[t]);
  });
  // the cursor stays within the sequence's real steps: padding frames are counted, not shown
  const follow = (frame, phase) => {
    frames += 1;
    if (!frame.padding) set({ phase, t: frame.t });
  };
  const stream = api.openStream(expected.modelId, {
    start: () => set({ phase: "forward", t: 0 }),
    forward: (frame) => {
      compareLayers(frame.H, (L) => L.H, frame.t);
      if (frame.reverse) compareLayers(frame.reverse.H, (L) => L.reverse?.H, frame.t);
      follow(frame, "forward");
    },
    backward: (frame) => {
      if (expected.hasBackward) {
        compareLayers(frame.dH, (L) => L.dH, frame.t);
        if (frame.reverse) compareLayers(frame.reverse.dH, (L) => L.reverse?.dH, frame.t);
      }
      follow(frame, "backward");
    },
    summary: (frame) => {
      const loss = frame.loss === null ? "forward only" : `loss ${frame.loss.toFixed(4)}`;
      const both = expected.layers[0]?.reverse ? ", both directions" : "";
      set({ status: `Streamed ${frames} frames over the WebSocket${both}; ${loss}; they match the REST trace to ${worst.toExponential(1)}.` });
      stream.close();
    },
    error: (frame) => set({ error: api.describeDetail(frame.detail) }),
  }, (reason) => {
    if (reason) set({ error: reason });
  });
  set({ status: "Streaming from the server…" });
  // at the playing speed, within the server's limit on a stream's rate
  const rate = Math.min(state.speed, state.catalogue.choices.limits.max_fps);
  // the very pass on show: the sequence's own length and the training's BPTT cut go with it
  const lengths = expected.length < expected.T ? { lengths: [expected.length] } : {};
  const truncate = expected.truncate ? { truncate: expected.truncate } : {};
  stream.send({ type: "run", inputs: expected.inputs, targets: expected.targets, rate, format: "binary", ...lengths, ...truncate });
}
