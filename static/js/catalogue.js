// What the server offers, read once at start-up: its choices and limits, its tasks and presets.
// The forms, the link and the selection all read it from the store, never from copies.

import * as api from "./api.js";
import { set } from "./state.js";

export async function loadCatalogue() {
  const [choices, tasks] = await Promise.all([api.getChoices(), api.listTasks()]);
  let presets = [];
  try {
    presets = await api.listPresets();
  } catch {
    // the tasks alone are enough to explore
  }
  set({ catalogue: { choices, tasks, presets } });
}
