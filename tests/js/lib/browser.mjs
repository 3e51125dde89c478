// Shared by the tests that drive real headless Chromium (Debian `chromium`, which
// scripts/setup installs) through playwright-core.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? process.env.CHROMIUM ?? "/usr/bin/chromium";

/**
 * Headless Chromium, closed when the test `t` ends. No background networking: the machine's
 * network is closed. `extraArgs` go to Chromium (e.g. `--host-resolver-rules=...`).
 */
export async function launchChromium(t, extraArgs = []) {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} missing (scripts/setup installs Debian chromium)`);
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", ...extraArgs],
  });
  t.after(() => browser.close().catch(() => {}));
  return browser;
}

/**
 * Collects what a clean page never shows: console errors and warnings, uncaught errors,
 * failed requests and 4xx/5xx responses. Returns the (live) list.
 */
export function collectProblems(page) {
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return problems;
}
