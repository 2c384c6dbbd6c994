// The window of steps the unrolled diagram shows, shared with every time-axis chart of the
// Explore tab so that all of them show the same steps. The diagram decides it (it knows how many
// steps fit its width) before the charts draw; the charts read it as their x range.
//
// While playing, the charts show a span of up to PLAY_PAGES windows that holds the diagram's
// window and turns only when the window leaves it: the diagram turns a page every few steps,
// and a chart that re-laid its axis as often could not keep up with 60 steps a second (nor be
// read). When the play stops they show the diagram's window again.

/* global Plotly */

const PLAY_PAGES = 8;
const shown = { start: 0, size: 0, spanStart: -1, spanSize: 0 };

/**
 * The diagram's window: steps start … start + size − 1 of T; `playing` (going backward or not)
 * lets the charts show the span around it.
 */
export function setWindow(start, size, { T = 0, playing = false, backward = false } = {}) {
  shown.start = start;
  shown.size = size;
  if (!playing || !T) {
    shown.spanStart = -1;
    return;
  }
  const spanSize = Math.min(T, size * PLAY_PAGES);
  const inside = shown.spanStart >= 0 && shown.spanSize === spanSize && start >= shown.spanStart && start + size <= shown.spanStart + spanSize;
  if (!inside) {
    // the span ahead of the window in the direction of play
    const from = backward ? start + size - spanSize : start;
    shown.spanStart = Math.max(0, Math.min(from, T - spanSize));
    shown.spanSize = spanSize;
  }
}

/** The x range of the window (of the span while playing), [start − 0.5, start + size − 0.5], or the whole of T steps. */
export function windowRange(T) {
  const playing = shown.spanStart >= 0;
  const wanted = playing ? shown.spanSize : shown.size;
  const size = wanted > 0 ? Math.min(wanted, T) : T;
  const start = Math.max(0, Math.min(playing ? shown.spanStart : shown.start, T - size));
  return [start - 0.5, start + size - 0.5];
}

/** Moves a drawn chart's x axis to the window when it shows other steps. */
export function followWindow(el, T) {
  const xa = el._fullLayout?.xaxis;
  if (!xa) return;
  const [from, to] = windowRange(T);
  if (xa.range?.[0] !== from || xa.range?.[1] !== to) Plotly.relayout(el, { "xaxis.range": [from, to], "xaxis.autorange": false });
}
