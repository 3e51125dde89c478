#!/usr/bin/env bash
# Fidelity of promptshelf's renderer against the Prompty reference runtimes.
#
#   tests/fidelity/run.sh           # re-verify the committed reference dumps, then compare
#   tests/fidelity/run.sh --update  # regenerate tests/fidelity/reference-v{1,2}.json
#
# 1. Installs each reference into its own throwaway virtualenv, cached under
#    target/fidelity-venv-{v1,v2} (FIDELITY_VENV_DIR overrides `target`):
#      v1: prompty==0.1.50 typing_extensions   (0.1.x reads the v1 file shape)
#      v2: prompty[jinja2,mustache]==2.1.0     (2.x reads only the v2 shape)
# 2. Runs tests/fidelity/reference.py with each on every .prompty file of the corpus
#    (PROMPTSHELF_CORPUS, default <repo>/../shared/corpus/prompty): the reference's own
#    load + prepare with the file's sample inputs, dumped as JSON.
# 3. Also renders generated engine cases (tests/fidelity/engines.py) with the reference
#    engines, and checks all dumps equal the committed ones (or writes them with --update).
# 4. Runs the Rust comparison (tests/tests/fidelity.rs), which prints the agreement counts.
#
# If PyPI cannot be reached, step 1-3 are skipped with a loud notice and the Rust
# comparison runs against the committed dumps.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
corpus=${PROMPTSHELF_CORPUS:-$root/../shared/corpus/prompty}
# A git worktree under <checkout>/../wt/<name> sees shared/ one level further up.
[[ -d "$corpus" || -n "${PROMPTSHELF_CORPUS:-}" ]] || corpus=$root/../../shared/corpus/prompty
venv_root=${FIDELITY_VENV_DIR:-$root/target}
python=${PYTHON:-python3}
mode=check
[[ "${1:-}" == "--update" ]] && mode=update

if [[ ! -d "$corpus" ]]; then
  echo "=== FIDELITY SKIPPED: corpus not found at $corpus (set PROMPTSHELF_CORPUS) ===" >&2
  exit 0
fi

declare -A spec=(
  [v1]="prompty==0.1.50 typing_extensions"
  [v2]="prompty[jinja2,mustache]==2.1.0"
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
reverified=1

setup_venv() { # which → prints the venv's python, or fails
  local which=$1 venv="$venv_root/fidelity-venv-$1"
  if [[ -x "$venv/bin/python" && "$(cat "$venv/.spec" 2>/dev/null)" == "${spec[$which]}" ]]; then
    echo "$venv/bin/python"
    return 0
  fi
  rm -rf "$venv"
  "$python" -m venv "$venv" >&2 || return 1
  # shellcheck disable=SC2086
  if ! "$venv/bin/pip" install --disable-pip-version-check -q --timeout 30 --retries 2 ${spec[$which]} >&2; then
    rm -rf "$venv"
    return 1
  fi
  echo "${spec[$which]}" > "$venv/.spec"
  echo "$venv/bin/python"
}

for which in v1 v2; do
  if ! py=$(setup_venv "$which"); then
    echo "" >&2
    echo "=================================================================================" >&2
    echo "=== FIDELITY: could not install the $which reference (${spec[$which]}) from PyPI." >&2
    echo "=== The committed dumps in tests/fidelity/ are NOT re-verified in this run.      " >&2
    echo "=================================================================================" >&2
    reverified=0
    continue
  fi
  # Clean environment: only the placeholders reference.py sets for ${env:...}.
  env -i PATH="$PATH" HOME="${HOME:-/tmp}" LANG=C.UTF-8 PYTHONHASHSEED=0 \
    "$py" "$root/tests/fidelity/reference.py" "$which" "$corpus" "$tmp/reference-$which.json"
  "$py" "$root/tests/fidelity/engines.py" "$which" "$tmp/engines-$which.json"
  for dump in engines; do
    if [[ $mode == update ]]; then
      cp "$tmp/$dump-$which.json" "$root/tests/fidelity/$dump-$which.json"
    elif ! cmp -s "$tmp/$dump-$which.json" "$root/tests/fidelity/$dump-$which.json"; then
      echo "=== FIDELITY: the $which engines now render the generated cases differently ===" >&2
      echo "(regenerate with tests/fidelity/run.sh --update and review the diff)" >&2
      exit 1
    fi
  done
  committed="$root/tests/fidelity/reference-$which.json"
  if [[ $mode == update ]]; then
    cp "$tmp/reference-$which.json" "$committed"
    echo "updated $committed"
  elif ! cmp -s "$tmp/reference-$which.json" "$committed"; then
    echo "=== FIDELITY: the $which reference now says something else than $committed ===" >&2
    diff <(head -c 200000 "$committed") <(head -c 200000 "$tmp/reference-$which.json") | head -40 >&2 || true
    echo "(regenerate with tests/fidelity/run.sh --update and review the diff)" >&2
    exit 1
  else
    echo "fidelity: $which reference dump re-verified ($(grep -c '"file":' "$committed") files)"
  fi
done

cd "$root"
PROMPTSHELF_CORPUS="$corpus" cargo test -p promptshelf-tests --test fidelity -- --nocapture
[[ $reverified == 1 ]] || echo "=== FIDELITY: reference dumps were NOT re-verified (PyPI unreachable) ===" >&2
