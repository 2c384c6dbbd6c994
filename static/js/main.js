// Wires the page: the controls and views get their elements and the actions they may ask for,
// the store tells each of them what changed, and start-up reads the server's catalogue, then
// the link, then shows the first trace. No logic of its own lives here.
//
// state.js is the store; url.js the table of what a link carries, link.js the address bar;
// selection.js what choosing a task or preset means; api.js the only module that talks to the
// server, used by catalogue.js, model-session.js (sample, model, trace), lesson-session.js,
// training-session.js, compare-session.js, connectivity-session.js, decision-session.js, stream-replay.js,
// text-sampling.js and exports.js;
// work.js runs their requests (busy, errors). cursor.js moves the cursor; controls/ write to the store; views/ and
// render.js draw from it.

import { loadCatalogue } from "./catalogue.js";
import * as compareSession from "./compare-session.js";
import * as connectivitySession from "./connectivity-session.js";
import * as checkToggle from "./controls/check-toggle.js";
import * as form from "./controls/form.js";
import * as keyboard from "./controls/keyboard.js";
import * as lessons from "./controls/lessons.js";
import * as projector from "./controls/projector.js";
import * as sequence from "./controls/sequence.js";
import * as transport from "./controls/transport.js";
import * as cursor from "./cursor.js";
import { download } from "./exports.js";
import * as lessonSession from "./lesson-session.js";
import { followStore, query, readLink } from "./link.js";
import * as modelSession from "./model-session.js";
import * as render from "./render.js";
import { set, snapshot, state, watch } from "./state.js";
import { loadTypesetter } from "./typeset.js";
import { replay } from "./stream-replay.js";
import { sampleText } from "./text-sampling.js";
import * as trainingSession from "./training-session.js";
import * as lessonView from "./views/lesson.js";
import * as progress from "./views/progress.js";
import * as status from "./views/status.js";
import { guard, guarded } from "./work.js";

function wire() {
  cursor.init();
  connectivitySession.init();
  keyboard.init();
  transport.init();
  watch(["t", "phase", "unit", "layer", "speed", "playing", "tab", "weight", "trace"], transport.update);
  form.init({
    run: guard(modelSession.run),
    replay,
    importWeights: guard(modelSession.importWeights),
    download: guard(download),
  });
  watch(["catalogue", "task", "preset", "params", "sampleSeed", "config", "busy"], form.update);
  sequence.init();
  watch(["linkInputs", "linkLengths", "sequence"], sequence.update);
  watch(["sequence"], guard(modelSession.showSequence));
  // before the first chart is drawn: a projector-sized screen draws its charts in large type
  projector.init(form.foldSidebar);
  watch(["projector"], projector.update);
  watch(["status", "error", "model", "busy"], status.update);
  watch(["computing"], progress.update);
  // while a session trains: the trace waits for the Explore tab and for the cursor to rest
  watch(["t"], trainingSession.cursorMoved);
  watch(["tab"], (current) => trainingSession.tabShown(current.tab));
  checkToggle.init();
  watch(["check"], checkToggle.update);
  render.init({
    pickStep: cursor.goTo,
    // an arrow of a shared matrix pointed at: the weights card shows that matrix, outlined
    lightWeight: (weight, layer) => set(weight ? { weight, layer, litWeight: weight } : { litWeight: "" }),
    pickCell: (t, unit) => {
      cursor.goTo(t);
      cursor.selectUnit(unit);
    },
    sampleText,
    training: {
      change: trainingSession.changeSettings,
      start: guard(trainingSession.start),
      control: guard(trainingSession.control),
    },
    compare: { change: compareSession.choose, run: guard(compareSession.run) },
  });
  const lessonIntents = { go: guard(lessonSession.go), move: guard(lessonSession.move), close: lessonSession.close };
  lessonView.init(document.getElementById("lesson"), lessonIntents);
  // after render's: the highlights go on what the views have just drawn
  watch(["lesson", "lessonStep", "lessonText", "trace", "phase", "t", "unit", "layer", "tab", "weight"], lessonView.update);
  watch(["welcome", "playing", "lesson"], lessons.update);
  document.getElementById("download-unrolled").addEventListener("click", () => guarded(() => download("unrolled")));
  // models the page made for itself are not kept on the server
  window.addEventListener("pagehide", () => {
    modelSession.forgetModels();
    compareSession.forgetModels();
  });
}

async function start() {
  wire();
  await guarded(loadCatalogue);
  if (!state.catalogue) return; // the error box says why
  readLink();
  lessons.init({ go: guard(lessonSession.go), play: cursor.togglePlay });
  followStore();
  await Promise.all([guarded(modelSession.open), guarded(lessonSession.resume)]);
  document.body.dataset.ready = "true";
  // after the first drawing: the equation card's math is typeset once KaTeX is in (else TeX text)
  loadTypesetter().then(() => set({ typesetter: true }), () => {});
}

/** For the browser tests and benchmarks: the state, the server's answers on show and the link. */
window.rnnExplorer = {
  get state() {
    return snapshot();
  },
  set,
  trace: () => state.trace,
  model: () => state.model,
  session: () => state.session?.id ?? null,
  comparison: () => state.comparison,
  query,
};

start();
