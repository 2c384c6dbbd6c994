// What the server offers, read once at start-up: its choices and limits, its tasks, presets and
// lessons (their outlines; a lesson's text is read when it opens, lesson-session.js).
// The forms, the link and the selection all read it from the store, never from copies.

import * as api from "./api.js";
import { set } from "./state.js";

export async function loadCatalogue() {
  // the tasks alone are enough to explore: the presets and lessons may fail on their own
  const [choices, tasks, presets, lessons] = await Promise.all([
    api.getChoices(),
    api.listTasks(),
    api.listPresets().catch(() => []),
    api.listLessons().catch(() => []),
  ]);
  set({ catalogue: { choices, tasks, presets, lessons } });
}
