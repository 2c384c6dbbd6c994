// The page's messages: the status line, the error box, the summary of the model on show, and
// whether the page is busy (for assistive technology).

const $ = (id) => document.getElementById(id);

function modelSummary(model) {
  const c = model.config;
  const cell = c.cell === "rnn" ? `rnn(${c.nonlinearity})` : c.cell;
  const name = model.name ? `${model.name} — ` : "";
  const layers = c.num_layers > 1 ? `×${c.num_layers}` : "";
  return `${name}${cell} ${c.input_size}→${c.hidden_size}${layers}→${c.output_size} · ${model.parameter_count} parameters`;
}

/** Keys: status, error, model, busy. */
export function update(state) {
  $("status").textContent = state.status;
  const box = $("error");
  box.textContent = state.error;
  box.hidden = !state.error;
  $("model-summary").textContent = state.model ? modelSummary(state.model) : "";
  document.body.setAttribute("aria-busy", state.busy > 0 ? "true" : "false");
}
