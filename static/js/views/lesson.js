// The lesson panel: the step on show (its prose, with KaTeX typesetting its math), the way back
// and forward, and the views the step is about: those of `focus` stand out and the others dim,
// and the part of a view that `point` names is outlined. It draws from the store only; its
// buttons ask lesson-session.js (through the intents main.js gives) to move.

import { typeset } from "../typeset.js";

const POINTED = "lesson-point";
let panel = null;
let intents = null;
let drawnKey = "";
let cleared = false; // no lesson on show and its highlights removed

const $ = (id) => document.getElementById(id);

/** panelElement: the lesson's <section>; actions: {go(name, step), move(delta), close()}. */
export function init(panelElement, actions) {
  panel = panelElement;
  intents = actions;
  $("lesson-back").addEventListener("click", () => intents.move(-1));
  $("lesson-next").addEventListener("click", () => intents.move(1));
  $("lesson-close").addEventListener("click", () => intents.close());
}

function drawStep(lesson, index) {
  const step = lesson.steps[index];
  $("lesson-title").textContent = lesson.title;
  $("lesson-progress").textContent = `Step ${index + 1} of ${lesson.steps.length}`;
  $("lesson-step-title").textContent = step.title;
  const body = $("lesson-body");
  body.innerHTML = step.html; // rendered by the server from the lesson's Markdown, raw HTML escaped
  typeset(body);
  $("lesson-back").disabled = index === 0;
  $("lesson-next").disabled = index === lesson.steps.length - 1;
  const dots = lesson.steps.map((s, k) => {
    const dot = document.createElement("button");
    dot.type = "button";
    dot.className = "lesson-dot";
    dot.setAttribute("aria-label", `Step ${k + 1}: ${s.title}`);
    dot.setAttribute("aria-current", k === index ? "step" : "false");
    dot.addEventListener("click", () => intents.go(lesson.name, k));
    return dot;
  });
  $("lesson-steps").replaceChildren(...dots);
}

/** The views of the step's focus stand out, the other cards dim; its point is outlined. */
function highlight(setup) {
  const focused = new Set(setup?.focus || []);
  const cards = document.querySelectorAll("main .card");
  for (const card of cards) {
    const views = [...card.querySelectorAll("[id^='view-']")].map((e) => e.id.slice(5));
    const on = views.some((name) => focused.has(name));
    card.classList.toggle("lesson-focus", focused.size > 0 && on);
    card.classList.toggle("lesson-dim", focused.size > 0 && !on);
  }
  for (const element of document.querySelectorAll(`.${POINTED}`)) element.classList.remove(POINTED);
  let pointed = 0;
  const point = setup?.point;
  const view = point && $(`view-${point.view}`);
  if (view) {
    // a unit is a row the view draws itself (the heatmap); a part, elements of the view
    const unit = Number.isInteger(point.unit) ? point.unit : null;
    const parts = point.part ? [...view.querySelectorAll(point.part)] : unit === null ? [view] : [];
    for (const part of parts) part.classList.add(POINTED);
    pointed = parts.length + (unit !== null && view.dataset.pointedUnit === String(unit) ? 1 : 0);
  }
  document.body.dataset.lessonPointed = String(pointed); // for the tests: what the point found
}

/** The first card the step is about, scrolled to just below the (sticky) panel. */
function bringIntoSight() {
  document.body.style.setProperty("--lesson-height", `${panel.offsetHeight + 12}px`);
  const card = document.querySelector("main .card.lesson-focus");
  if (!card) return;
  const still = matchMedia("(prefers-reduced-motion: reduce)").matches;
  card.scrollIntoView({ block: "nearest", behavior: still ? "auto" : "smooth" });
}

/** Draws the panel for the lesson and step on show (or hides it), then the highlights. */
export function update(current) {
  const lesson = current.lesson && current.lessonText?.name === current.lesson ? current.lessonText : null;
  panel.hidden = !lesson;
  document.body.classList.toggle("in-lesson", Boolean(lesson));
  if (!lesson) {
    // nothing to undo once the highlights are off (this runs on every step)
    if (cleared) return;
    cleared = true;
    drawnKey = "";
    highlight(null);
    delete document.body.dataset.lessonStep;
    return;
  }
  cleared = false;
  const index = Math.min(current.lessonStep, lesson.steps.length - 1);
  const key = `${lesson.name}/${index}`;
  const newStep = key !== drawnKey;
  if (newStep) {
    drawStep(lesson, index);
    drawnKey = key;
  }
  highlight(lesson.steps[index].setup);
  if (newStep) bringIntoSight();
  document.body.dataset.lessonStep = key; // for the tests: the step drawn
}
