// KaTeX, which typesets the lessons' and the equation card's math, loaded once, when first
// needed. Until it has loaded (or if it cannot), an element of class "math" shows its TeX source.
// It talks to no API (views typeset with it): its script and style are static files.

/* global katex */

// beside this module, so it shares its versioned URL (app/web/assets.py)
const KATEX = new URL("../vendor/katex/katex.min", import.meta.url).href;
let loading = null;

/** Loads KaTeX's script and style sheet; resolves when `katex` is defined. */
export function loadTypesetter() {
  loading ??= new Promise((resolve, reject) => {
    const css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = `${KATEX}.css`;
    document.head.append(css);
    const script = document.createElement("script");
    script.src = `${KATEX}.js`;
    script.addEventListener("load", resolve);
    script.addEventListener("error", () => {
      loading = null;
      reject(new Error("The equation typesetter (KaTeX) did not load; the math shows as its TeX source."));
    });
    document.head.append(script);
  });
  return loading;
}

/**
 * Typesets every `.math` element under root that is not typeset yet (`.block` ones in display
 * mode); its TeX source stays in data-tex. Without KaTeX it leaves the source as text.
 */
export function typeset(root) {
  if (typeof katex === "undefined") return;
  for (const element of root.querySelectorAll(".math:not([data-tex])")) {
    const tex = element.textContent;
    katex.render(tex, element, { displayMode: element.classList.contains("block"), throwOnError: false });
    element.dataset.tex = tex;
  }
}
