"""The explorer page while a session trains: main-thread long tasks and the Pause click.

In headless Chromium against a live server: the page starts a long session and, on the tab
given, measures
- the share of wall time spent in main-thread long tasks (> 50 ms, the PerformanceObserver's
  `longtask` entries) over a few seconds of training;
- click on Pause → the status line says "Paused", and Resume → "Training", N times each;
for the char model and for the page's largest trace (an LSTM, T = 1000, H = 128), the latter also
reporting every 2 steps, so that the page refreshes its trace after nearly every report.

Run: `python -m benchmarks.bench_training_page` (prints a Markdown table; `--write` puts it
into benchmarks/PAGE_RESULTS.md, as its last section). Wall-clock figures on a shared machine:
quote them with the load average printed beside them, never as a test's pass or fail.
"""

import argparse
import os
import statistics
from typing import Any

from playwright.sync_api import Page, expect, sync_playwright

from benchmarks.bench_page import RESULTS, TRAINING_HEADING, _chromium, _percentile, _Server

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

# Runs in the page: long tasks over `seconds` of wall time, as a share and their count.
LONG_TASKS = """
async (seconds) => {
  const entries = [];
  const observer = new PerformanceObserver((list) => entries.push(...list.getEntries()));
  observer.observe({ type: "longtask", buffered: false });
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  observer.disconnect();
  const wall = performance.now() - start;
  const busy = entries.reduce((sum, e) => sum + e.duration, 0);
  const longest = Math.max(0, ...entries.map((e) => e.duration));
  // the trace refreshes the page made meanwhile (one forward pass each)
  const passes = performance.getEntriesByType("resource")
    .filter((e) => new URL(e.name).pathname.endsWith("/forward") && e.startTime >= start).length;
  return { share: busy / wall, count: entries.length, longest, passes };
}
"""


# Runs in the page before a click: the time from the button's pointerdown to the first change
# of the status line that contains `words`, measured by the page's own clock.
ARM = """
([button, words]) => {
  window.__latency = new Promise((resolve) => {
    let down = 0;
    const pressed = () => { down = performance.now(); };
    document.getElementById(button)
      .addEventListener("pointerdown", pressed, { once: true, capture: true });
    const status = document.getElementById("train-status");
    const observer = new MutationObserver(() => {
      if (down && status.textContent.includes(words)) {
        observer.disconnect();
        resolve((performance.now() - down) / 1000);
      }
    });
    observer.observe(status, { childList: true, characterData: true, subtree: true });
  });
}
"""


def timed_click(page: Page, button: str, words: str) -> float:
    """Seconds from a real click on `button` to the status line saying `words`."""
    page.evaluate(ARM, [button, words])
    page.click(f"#{button}")
    return float(page.evaluate("() => window.__latency"))


def clicks(page: Page, times: int) -> list[float]:
    """Pause → "Paused" for each of `times` clicks, with Resume → "Training" between them."""
    latencies = []
    for _ in range(times):
        latencies.append(timed_click(page, "train-pause", "Paused"))
        timed_click(page, "train-resume", "Training")
    return latencies


def run(base: str, query: str, tab: str, seconds: float, times: int, steps: int) -> dict[str, Any]:
    with sync_playwright() as p:
        executable = _chromium()
        browser = (
            p.chromium.launch(executable_path=executable, args=FLAGS, headless=True)
            if executable
            else p.chromium.launch(headless=True)
        )
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(f"{base}/?{query}&tab=train")
        page.wait_for_function("() => document.body.dataset.ready === 'true'")
        status = page.locator("#train-status")
        # a session that reports often (every steps / 50), so the page has work to do
        page.fill("#train-steps", str(steps))
        page.click("#train-start")
        expect(status).to_contain_text("Training", timeout=60_000)
        if tab != "train":
            page.click(f"#tab-{tab}")
        long_tasks = page.evaluate(LONG_TASKS, seconds)
        if tab != "train":
            page.click("#tab-train")
        if "Training" in (status.text_content() or ""):
            page.click("#train-stop")
        # then a session long enough for every click to find it running
        page.fill("#train-steps", "100000")
        page.click("#train-start")
        expect(status).to_contain_text("Training", timeout=60_000)
        latencies = clicks(page, times)
        page.click("#train-stop")
        browser.close()
    return {
        "tab": tab,
        "share": long_tasks["share"],
        "count": long_tasks["count"],
        "longest": long_tasks["longest"],
        "passes": long_tasks["passes"],
        "seconds": seconds,
        "pause_median": statistics.median(latencies),
        "pause_p95": _percentile(latencies, 0.95),
        "clicks": times,
    }


def report(rows: list[dict[str, Any]], load: tuple[float, float, float]) -> str:
    lines = [
        TRAINING_HEADING,
        "",
        "Headless Chromium, 1440×900; long tasks while a session of *steps* steps trains (it "
        "reports every ⌊steps / 50⌋), then Pause clicks on a session of 100,000 steps; load "
        f"average {load[0]:.1f} when it started. "
        "`python -m benchmarks.bench_training_page --write`.",
        "",
        "| page's link | steps | tab on show | trace refreshes | long tasks, share of wall time "
        "| long tasks | longest (ms) | Pause → paused, median (s) | p95 (s) | clicks | target |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| `{r['query']}` | {r['steps']} | {r['tab']} | {r['passes']} in {r['seconds']:g} s "
            f"| {100 * r['share']:.1f} % | {r['count']} "
            f"| {r['longest']:.0f} "
            f"| {r['pause_median']:.3f} | {r['pause_p95']:.3f} | {r['clicks']} "
            "| ≤ 10 %, ≤ 0.2 s p95 |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="how long to watch")
    parser.add_argument("--clicks", type=int, default=20, help="Pause clicks to time")
    parser.add_argument(
        "--steps", type=int, default=2000, help="steps of the watched session (unless QUERY@STEPS)"
    )
    parser.add_argument("--tabs", default="train,explore", help="comma-separated tabs")
    parser.add_argument(
        "--query",
        nargs="+",
        default=[
            "task=char_lm",
            "task=sine&p.length=1000&cell=lstm&hidden_size=128&batch=2",
            # the largest trace, reporting every 2 steps: a refresh after nearly every report
            "task=sine&p.length=1000&cell=lstm&hidden_size=128&batch=2@100",
        ],
        help="the page's link to each model trained, QUERY or QUERY@STEPS",
    )
    parser.add_argument("--write", action="store_true", help=f"write {RESULTS.name}")
    args = parser.parse_args()
    load = os.getloadavg()
    with _Server() as base:
        rows = []
        for entry in args.query:
            query, _, steps = entry.partition("@")
            for tab in args.tabs.split(","):
                watched = int(steps) if steps else args.steps
                measured = run(base, query, tab, args.seconds, args.clicks, watched)
                rows.append({**measured, "query": query, "steps": watched})
    text = report(rows, load)
    print(text)
    if args.write:
        old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
        start = old.find(TRAINING_HEADING)
        kept = (old[:start] if start >= 0 else old).rstrip("\n")
        RESULTS.write_text(kept + "\n\n" + text, encoding="utf-8")


if __name__ == "__main__":
    main()
