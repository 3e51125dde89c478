// Starts the edge worker in the real runtime (`wrangler dev` → workerd) on a free loopback port
// for a test file, and always stops it (the whole process group: wrangler, esbuild, workerd).
import { spawn } from "node:child_process";
import net from "node:net";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** The debug CLI the local host runs (scripts/test builds it in `build-bin`). */
export const promptshelfBin = process.env.PROMPTSHELF_BIN || `${repoRoot}target/debug/promptshelf`;

/**
 * `promptshelf serve --db DB [args]` on a free loopback port, the local host the edge is
 * compared with (`args`: e.g. `["--cors-origin", "*"]`, to configure it like the edge).
 * Resolves once it answers `/v1/health`: `{ base, child, log() }`.
 */
export async function startLocalServer(db, args = []) {
  const child = spawn(promptshelfBin, ["serve", "--db", db, "--listen", "127.0.0.1:0", ...args], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, NO_COLOR: "1", RUST_LOG: "info" },
  });
  let log = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => (log += d));
  const end = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error("promptshelf serve exited:\n" + log);
    const m = log.match(/http:\/\/(127\.0\.0\.1:\d+)\//);
    if (m) {
      const base = `http://${m[1]}`;
      try {
        if ((await fetch(base + "/v1/health")).ok) return { base, child, log: () => log };
      } catch {}
    }
    if (Date.now() > end) {
      child.kill("SIGKILL");
      throw new Error("promptshelf serve not ready within 30 s:\n" + log);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A port the kernel just handed out on 127.0.0.1 (closed again, so wrangler can bind it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Runs `scripts/dev-edge PORT [args]` and resolves once `readyPath` answers `readyStatus`,
 * within `deadlineMs`. `args` go to `wrangler dev` (e.g. `--config FILE`), `env` to dev-edge
 * (e.g. EDGE_PERSIST_TO).
 * Returns { base, stop(), output() }.
 */
export async function startEdge({ readyPath = "/v1/health", deadlineMs = 90_000, readyStatus = 200, args = [], env = {} } = {}) {
  const port = await freePort();
  const inspector = await freePort();
  const child = spawn("scripts/dev-edge", [String(port), "--inspector-port", String(inspector), ...args], {
    cwd: repoRoot,
    detached: true, // own process group, so stop() reaches workerd too
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true", NO_COLOR: "1", ...env },
  });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  let exited = null;
  const exitedP = new Promise((r) => child.on("exit", (code, sig) => r((exited = { code, sig }))));
  const killGroup = (sig) => {
    try {
      process.kill(-child.pid, sig);
    } catch {}
  };
  // Never leave a workerd behind, even if the test process dies early.
  const onExit = () => killGroup("SIGKILL");
  process.on("exit", onExit);

  const stop = async () => {
    process.off("exit", onExit);
    if (exited) return;
    killGroup("SIGTERM");
    const t = setTimeout(() => killGroup("SIGKILL"), 5_000);
    await exitedP;
    clearTimeout(t);
    killGroup("SIGKILL"); // stragglers in the group
  };

  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (exited) throw new Error(`wrangler dev exited early (${JSON.stringify(exited)}):\n${log}`);
    try {
      const r = await fetch(base + readyPath, { signal: AbortSignal.timeout(2_000) });
      await r.arrayBuffer();
      if (r.status === readyStatus) break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev not ready within ${deadlineMs} ms:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { base, stop, output: () => log };
}
