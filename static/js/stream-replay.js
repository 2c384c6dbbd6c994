// The pass on show replayed over the WebSocket: the server streams its frames, the cursor
// follows them, and each frame is checked against the REST trace on show.

import * as api from "./api.js";
import { set, state } from "./state.js";

export function replay() {
  const expected = state.trace;
  if (!expected) return;
  set({ playing: false });
  let frames = 0;
  let worst = 0; // the largest difference between a streamed number and the trace's
  const compareFrame = (got, want) => {
    for (let j = 0; j < want.length; j++) worst = Math.max(worst, Math.abs(got[j] - want[j]));
  };
  const stream = api.openStream(expected.modelId, {
    start: () => set({ phase: "forward", t: 0 }),
    forward: (frame) => {
      frames += 1;
      compareFrame(frame.H[0], expected.layers[0].H[frame.t]);
      set({ phase: "forward", t: frame.t });
    },
    backward: (frame) => {
      frames += 1;
      if (expected.hasBackward) compareFrame(frame.dH[0], expected.layers[0].dH[frame.t]);
      set({ phase: "backward", t: frame.t });
    },
    summary: (frame) => {
      const loss = frame.loss === null ? "forward only" : `loss ${frame.loss.toFixed(4)}`;
      set({ status: `Streamed ${frames} frames over the WebSocket; ${loss}; they match the REST trace to ${worst.toExponential(1)}.` });
      stream.close();
    },
    error: (frame) => set({ error: api.describeDetail(frame.detail) }),
  }, (reason) => {
    if (reason) set({ error: reason });
  });
  set({ status: "Streaming from the server…" });
  // at the playing speed, within the server's limit on a stream's rate
  const rate = Math.min(state.speed, state.catalogue.choices.limits.max_fps);
  stream.send({ type: "run", inputs: expected.inputs, targets: expected.targets, rate });
}
