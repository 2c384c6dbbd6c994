// The ways into the lessons: the header's Lessons menu (every lesson, the tutorial it answers and
// its steps) and the first screen's invitation, shown to a first-time visitor until it is used
// (playing, starting a lesson or closing it), then never again on this browser.

import { set, state } from "../state.js";

const $ = (id) => document.getElementById(id);
const WELCOMED = "rnn-explorer.welcomed"; // localStorage key: the invitation was used

let intents = null;

function remembered() {
  try {
    return localStorage.getItem(WELCOMED) === "1";
  } catch {
    return false; // storage off: the invitation shows each time, and can be closed each time
  }
}

function dismiss() {
  try {
    localStorage.setItem(WELCOMED, "1");
  } catch {
    // storage off: nothing to keep
  }
  if (state.welcome) set({ welcome: false });
}

function start(name) {
  dismiss();
  $("lessons-menu").close();
  intents.go(name, 0);
}

/** actions: {go(name, step), play()}. Call once the catalogue is in the store. */
export function init(actions) {
  intents = actions;
  $("lessons-open").addEventListener("click", () => $("lessons-menu").showModal());
  $("welcome-lesson").addEventListener("click", () => start(state.catalogue.lessons[0].name));
  $("welcome-play").addEventListener("click", () => {
    dismiss();
    intents.play();
  });
  $("welcome-close").addEventListener("click", dismiss);
  const lessons = state.catalogue?.lessons || [];
  $("lessons-list").replaceChildren(...lessons.map((lesson) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "lesson-choice";
    button.dataset.lesson = lesson.name;
    const title = document.createElement("strong");
    title.textContent = lesson.title;
    const summary = document.createElement("span");
    summary.textContent = `${lesson.summary} · ${lesson.steps.length} steps`;
    button.append(title, summary);
    button.addEventListener("click", () => start(lesson.name));
    item.append(button);
    return item;
  }));
  $("welcome-lesson").hidden = lessons.length === 0;
  $("lessons-open").hidden = lessons.length === 0;
  set({ welcome: !remembered() && !state.lesson });
}

/** Playing, or a lesson opened some other way (a link), uses the invitation up. */
export function update(current) {
  if (current.welcome && (current.playing || current.lesson)) dismiss();
  $("welcome").hidden = !state.welcome;
}
