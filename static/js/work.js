// Running the page's requests: while one is under way the page is busy; a failure becomes the
// message in the error box, a success clears it.

import { ApiError } from "./api.js";
import { set, state } from "./state.js";

/** Runs `work()` (async); returns its result, or undefined when it failed (the error is shown). */
export async function guarded(work) {
  set({ busy: state.busy + 1 });
  try {
    const result = await work();
    set({ error: "" });
    return result;
  } catch (error) {
    set({ error: error instanceof Error ? error.message : String(error) });
    if (!(error instanceof ApiError)) console.warn(error);
    return undefined;
  } finally {
    set({ busy: state.busy - 1 });
  }
}

/** The function that runs `action(...args)` guarded (for a button's handler). */
export function guard(action) {
  return (...args) => guarded(() => action(...args));
}
