// A tiny static server for the example (and for tests/js/browser.test.mjs): serves this folder
// at `/`, the built package (pkg/) at `/pkg/`, the library's files at `/library/` (for the
// render preview), and `/index.bin` built from examples/library at start-up. Loopback only. Run: `node examples/browser/serve.mjs [PORT]`, then open the URL.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { join, resolve, extname, sep } from "node:path";
import { buildIndex } from "./build-index.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = join(here, "..", "..");
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".ts": "text/plain; charset=utf-8",
  ".bin": "application/octet-stream",
  ".prompty": "text/plain; charset=utf-8",
};

/** Starts the server; resolves to `{url, close()}`. Port 0 picks a free one. */
export async function serve({ port = 0, pkgDir = join(root, "pkg"), libraryDir = join(root, "examples", "library") } = {}) {
  const { bytes } = await buildIndex(libraryDir, pkgDir);
  const mounts = [
    ["/pkg/", pkgDir],
    ["/library/", libraryDir],
    ["/", here],
  ];
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", "http://localhost");
      let path = decodeURIComponent(url.pathname);
      if (path === "/index.bin") {
        res.writeHead(200, { "content-type": TYPES[".bin"], "cache-control": "no-store" });
        return res.end(bytes);
      }
      if (path.endsWith("/")) path += "index.html";
      const [prefix, dir] = mounts.find(([p]) => path.startsWith(p));
      const base = resolve(dir);
      const file = resolve(base, "." + sep + path.slice(prefix.length));
      if (!file.startsWith(base + sep)) {
        res.writeHead(403).end();
        return;
      }
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
      res.end(body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const { port: actual } = server.address();
  return {
    url: `http://127.0.0.1:${actual}/`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { url } = await serve({ port: Number(process.argv[2] ?? 8080) });
  console.log(`promptshelf example: ${url}`);
}
