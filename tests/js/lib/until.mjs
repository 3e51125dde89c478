// Waiting helper shared by the tests that drive a real server or browser.

/**
 * Polls `check` every `every` ms until it returns a truthy value (which is returned) or `ms`
 * pass; the timeout error names `what` and the last error `check` threw.
 */
export async function until(what, ms, check, every = 50) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ": " + last.message : ""}`);
}
