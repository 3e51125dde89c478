#!/usr/bin/env bash
# Pagefind 1.6.0 vs promptshelf's chunked index (`promptshelf/open`), same gen.py library, same
# queries, same server byte counting, same headless Chromium, one run (issue #14).
# usage: bench/pagefind/run.sh N LABEL     e.g. bench/pagefind/run.sh 10000 10k
# Needs: scripts/build-pkg (pkg/), cargo build --release -p promptshelf-watcher,
# `npm ci` in bench/peers/pagefind (pagefind 1.6.0 from the npm registry). RUNS= (default 3).
set -euo pipefail
N=$1; L=$2
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
bin=${PROMPTSHELF_BIN:-$root/target/release/promptshelf}
LIB=/tmp/pf-lib$L; OUT=/tmp/pf-out$L; SITE=/tmp/ps-site$L
rm -rf "$LIB" "$SITE" && mkdir -p "$SITE"
python3 "$root/bench/watch/gen.py" "$N" "$LIB" > /dev/null
echo "== promptshelf build --site ($N documents)" >&2
/usr/bin/time -v "$bin" build "$LIB" --out "$SITE/lib.db" --site "$SITE" 2> "$SITE/build.log"
grep -E "index |chunked index|Elapsed|Maximum resident" "$SITE/build.log" >&2
wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$SITE/build.log")
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$SITE/build.log")
echo "$wall wall (snapshot + chunk set), peak RSS $((rss / 1024)) MB" > "$SITE/build.txt"
echo "== Pagefind index ($N documents)" >&2
rm -rf "$OUT"
(cd "$here/../peers/pagefind" && timeout 900 node index.mjs "$LIB" "$OUT" --json "/tmp/pf-build-$L.json" > /dev/null)
echo "== Chromium: Pagefind, then promptshelf" >&2
(cd "$here/../peers/pagefind" && node serve-and-measure.mjs "$OUT" --runs "${RUNS:-3}" --build "/tmp/pf-build-$L.json" --json "/tmp/pf-results-$L.json" > /dev/null)
node "$here/measure-promptshelf.mjs" "$SITE/v1/index" "$root/pkg" --runs "${RUNS:-3}" --json "/tmp/ps-results-$L.json" > /dev/null
node "$here/compare.mjs" "/tmp/pf-results-$L.json" "/tmp/ps-results-$L.json" "$SITE/build.txt"
