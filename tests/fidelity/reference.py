"""Runs one Prompty reference runtime over .prompty files and dumps its messages as JSON.

Usage: python reference.py v1|v2 CORPUS_DIR OUT.json

Run by tests/fidelity/run.sh inside a throwaway virtualenv that holds exactly one
reference (`prompty==0.1.50` for v1, `prompty[jinja2,mustache]==2.1.0` for v2). For each
file it calls the reference's own `load` + `prepare` with the file's sample inputs and
records either the messages (role + content) or the error the reference raised. The Rust
side (tests/tests/fidelity.rs) renders the same files with the same inputs and env map
and compares.

Inputs given to the reference ("sample inputs"):
  v1: `prepare(p, {})` — the reference itself fills missing inputs from `sample`; we add
      `inputs.<name>.default` for names the sample lacks (promptshelf uses defaults too).
  v2: for each declared input without a `default`, its `example` (the reference itself
      applies defaults).
Environment: every `${env:NAME}` without a default gets NAME=`<NAME>` (a placeholder),
recorded in the dump so the Rust side uses the same map.
"""

import json
import os
import re
import sys
import traceback
from pathlib import Path

NONCE = re.compile(r"__PROMPTY_THREAD_[0-9a-f]{8}_")
ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(:[^}]*)?\}", re.IGNORECASE)


def placeholder_env(text):
    env = {}
    for m in ENV_REF.finditer(text):
        if not m.group(2) or m.group(2) == ":":
            env[m.group(1)] = "<" + m.group(1) + ">"
    return env


def split_file(which, path):
    """The reference's own front matter / body split (for diagnosing parser vs renderer)."""
    with open(path, encoding="utf-8") as f:  # text mode: universal newlines, as load() does
        text = f.read()
    if which == "v1":
        from prompty.utils import parse

        d = parse(text)
        return d["attributes"], d["body"]
    from prompty.core.utils import parse

    d = parse(text)
    if isinstance(d, dict):
        body = d.pop("instructions", "")
        return d, body
    return None, d


def jsonable(v):
    try:
        json.dumps(v)
        return v
    except TypeError:
        return repr(v)


def run_v1(path):
    import prompty

    p = prompty.load(str(path))
    extra = {}
    for name, prop in (p.inputs or {}).items():
        if name not in (p.sample or {}) and getattr(prop, "default", None) is not None:
            extra[name] = prop.default
    msgs = prompty.prepare(p, extra)
    inputs = dict(p.sample or {})
    inputs.update(extra)
    out = []
    for m in msgs:
        out.append({"role": m["role"], "content": jsonable(m["content"])})
    return out, inputs


def run_v2(path):
    import prompty

    agent = prompty.load(str(path))
    inputs = {}
    for prop in agent.inputs or []:
        if prop.default is None and prop.example is not None:
            inputs[prop.name] = prop.example
    msgs = prompty.prepare(agent, inputs)
    out = []
    for m in msgs:
        if not hasattr(m, "parts"):
            out.append({"role": "?", "content": repr(m)})
            continue
        texts = []
        other = []
        for part in m.parts:
            if type(part).__name__ == "TextPart":
                texts.append(part.value)
            else:
                other.append(repr(part))
        entry = {"role": m.role, "content": NONCE.sub("__PROMPTY_THREAD_<nonce>_", "".join(texts))}
        if other or len(texts) != 1:
            entry["parts"] = [jsonable(t) for t in texts] + other
        out.append(entry)
    return out, jsonable(inputs)


def main():
    which, corpus, out_path = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    files = sorted(p for p in corpus.rglob("*.prompty") if p.is_file())
    results = []
    base_env = dict(os.environ)
    for path in files:
        rel = path.relative_to(corpus).as_posix()
        text = path.read_bytes().decode("utf-8", errors="replace")
        env = placeholder_env(text)
        os.environ.clear()
        os.environ.update(base_env)
        os.environ.update(env)
        entry = {"file": rel, "env": env}
        try:
            fm, body = split_file(which, path)
            entry["split"] = {"frontmatter": json.loads(json.dumps(fm, default=str)), "body": body}
        except BaseException as e:  # noqa: BLE001
            if isinstance(e, KeyboardInterrupt):
                raise
            entry["split"] = None
        try:
            msgs, inputs = (run_v1 if which == "v1" else run_v2)(path)
            entry["ok"] = True
            entry["inputs"] = inputs
            entry["messages"] = msgs
            if not isinstance(msgs, list):
                raise TypeError("prepare returned " + type(msgs).__name__)
        except BaseException as e:  # the reference raises all kinds of things
            if isinstance(e, KeyboardInterrupt):
                raise
            entry["ok"] = False
            entry["error"] = (type(e).__name__ + ": " + str(e))[:500]
        results.append(entry)
    os.environ.clear()
    os.environ.update(base_env)
    for r in results:
        if not r["ok"]:
            r.pop("split", None)  # only kept where there is something to compare
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump({"reference": which, "files": results}, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")
    ok = sum(1 for r in results if r["ok"])
    print(f"{which}: {ok}/{len(results)} files prepared by the reference")


if __name__ == "__main__":
    main()
