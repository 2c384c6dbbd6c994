// A lesson followed: its text read from the server once, each step's setup put on show as an
// opened link would be (link.js reads it through url.js's table, so a key the step leaves out
// takes its default), the lesson and step on top, then the trace for it (model-session.js).
// KaTeX, which typesets the lessons' math, is loaded when the first lesson opens.

import * as api from "./api.js";
import { stateOfQuery } from "./link.js";
import * as modelSession from "./model-session.js";
import { set, state } from "./state.js";
import { loadTypesetter } from "./typeset.js";

/** The lesson's text: the one on show, or read from the server (with KaTeX, the first time). */
async function textOf(name) {
  if (state.lessonText?.name === name) return state.lessonText;
  const [lesson] = await Promise.all([api.getLesson(name), loadTypesetter().catch(() => null)]);
  return lesson;
}

/** Step `index` of lesson `name` on show: its setup, then its trace. */
export async function go(name, index = 0) {
  const lesson = await textOf(name);
  const step = Math.max(0, Math.min(lesson.steps.length - 1, index));
  // the cursor waits for the step's own trace: the one on show may be shorter
  const { t, phase, unit, layer, ...setup } = stateOfQuery(lesson.steps[step].query);
  set({ ...setup, lesson: name, lessonStep: step, lessonText: lesson, playing: false, welcome: false });
  await modelSession.run();
  const trace = state.trace;
  set({
    t: Math.min(t, trace.T - 1),
    unit: Math.min(unit, trace.H - 1),
    layer: Math.min(layer, trace.L - 1),
    phase: trace.hasBackward ? phase : "forward",
  });
}

/** The next (+1) or previous (−1) step of the lesson on show. */
export function move(delta) {
  if (!state.lessonText) return undefined;
  return go(state.lesson, state.lessonStep + delta);
}

/** At start-up, a link that names a lesson: its text for the panel; the link's state stays. */
export async function resume() {
  if (!state.lesson) return;
  const lesson = await textOf(state.lesson);
  set({ lessonText: lesson, lessonStep: Math.min(state.lessonStep, lesson.steps.length - 1) });
}

/** Leaves the lesson; what is on show stays, to explore on from. */
export function close() {
  set({ lesson: "", lessonStep: 0, lessonText: null });
}
