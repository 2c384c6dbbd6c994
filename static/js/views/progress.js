// While a trace is computed and loaded: a progress bar with what the server is computing.

const $ = (id) => document.getElementById(id);

/** Keys: computing. */
export function update(state) {
  $("trace-progress-label").textContent = state.computing;
  $("trace-progress").hidden = !state.computing;
}
