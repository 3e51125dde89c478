"""Differential cases for the template engines alone: generated templates and data,
rendered by the engines the Prompty references use, dumped as JSON.

Usage: python engines.py v1|v2 OUT.json

  v1 (prompty 0.1.50 venv): prompty's vendored Mustache port, and Jinja2 with a default
      Environment (what 0.1.x uses: trailing newline dropped).
  v2 (prompty 2.1.0 venv): chevron, and Jinja2's ImmutableSandboxedEnvironment with
      keep_trailing_newline=True.

The cases are generated from a fixed seed, so the dump is deterministic; the Rust side
(tests/tests/fidelity.rs, `engines_agree_with_the_reference_engines`) renders the same
cases with promptshelf's engines and compares outputs (or that both fail).
"""

import json
import random
import sys

SEED = 20261127
N_MUSTACHE = 400
N_JINJA = 300

VALUES = [
    "plain",
    "<b>bold</b> & \"quoted\" 'single'",
    "",
    "line one\nline two\n",
    "  padded  ",
    0,
    1,
    -7,
    2.5,
    1e-05,
    1e16,
    0.1,
    True,
    False,
    None,
    [],
    ["a", "b"],
    [1, 2.0, None, True],
    [{"n": "x", "v": 1}, {"n": "y", "v": 0}],
    {},
    {"k": "v", "n": 3, "inner": {"deep": "D"}},
    {"items": [1, 2, 3]},
    "ünïcödé ✓",
]


def data(rng):
    names = ["a", "b", "c", "s", "l", "m"]
    return {n: rng.choice(VALUES) for n in names if rng.random() < 0.85}


def mustache_template(rng, depth=0):
    parts = []
    for _ in range(rng.randint(1, 6)):
        r = rng.random()
        key = rng.choice(["a", "b", "c", "s", "l", "m", "m.k", "m.inner.deep", "l.0", "l.1.n", ".", "missing", "items"])
        if r < 0.22:
            parts.append(rng.choice(["text", " ", "\n", "  \n", "x\ny", "<&>", "\t"]))
        elif r < 0.42:
            parts.append("{{" + rng.choice(["", " "]) + key + rng.choice(["", " "]) + "}}")
        elif r < 0.5:
            parts.append("{{{" + key + "}}}")
        elif r < 0.56:
            parts.append("{{& " + key + "}}")
        elif r < 0.62:
            parts.append(rng.choice(["{{! comment }}", "\n{{! standalone }}\n", "  {{!c}}  \n"]))
        elif r < 0.9 and depth < 3:
            sec = rng.choice(["a", "b", "c", "s", "l", "m", "missing", "items"])
            kind = rng.choice(["#", "#", "^"])
            nl = rng.choice(["", "\n"])
            inner = mustache_template(rng, depth + 1)
            parts.append("{{" + kind + sec + "}}" + nl + inner + nl + "{{/" + sec + "}}" + rng.choice(["", "\n"]))
        elif r < 0.97:
            parts.append("{{> partial}}")
        else:
            parts.append(rng.choice(["{{#a}}", "{{/b}}", "{{x", "{{=<% %>=}}<%a%>"]))
    return "".join(parts)


def jinja_template(rng):
    parts = []
    for _ in range(rng.randint(1, 5)):
        v = rng.choice(["a", "b", "c", "s", "l", "m", "missing"])
        parts.append(
            rng.choice(
                [
                    "{{ " + v + " }}",
                    "{{" + v + "}}",
                    "{{ " + v + "|length }}",
                    "{{ " + v + "|default('d') }}",
                    "{{ " + v + "|join(', ') }}",
                    "{{ " + v + "|string|upper }}",
                    "{{ " + v + " is defined }}",
                    "{% if " + v + " %}T{% else %}F{% endif %}",
                    "{% for x in " + v + " %}[{{ x }}]{% endfor %}",
                    "{% for x in " + v + " %}{{ loop.index }}:{{ x }}{% if not loop.last %},{% endif %}{% endfor %}",
                    "{%- if " + v + " -%}\n  trimmed\n{%- endif %}",
                    "{% for k, x in m.items() %}{{ k }}={{ x }};{% endfor %}",
                    "{{ m.k }}{{ m['n'] }}",
                    "{{ " + v + " ~ '!' }}",
                    "{{ 10 / 4 }} {{ 7 // 2 }} {{ 2 ** 3 }} {{ 1.5 + 1 }}",
                    "{{ [1, 'a', none, true] }}",
                    "{{ {'x': 1} }}",
                    "text\n",
                    "\n\n",
                    "{# comment #}",
                    "{{ s.strip() }}",
                    "{{ " + v + " | tojson }}",
                    "{% raw %}{{ not rendered }}{% endraw %}",
                    "{{ unclosed",
                    "{% for %}",
                ]
            )
        )
    return "".join(parts)


def main():
    which, out_path = sys.argv[1], sys.argv[2]
    rng = random.Random(SEED)
    if which == "v1":
        from prompty.mustache import render as mustache_render
        from jinja2 import Environment

        def jinja_render(t, d):
            return Environment().from_string(t).render(**d)

    else:
        import chevron
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        def mustache_render(t, d):
            return chevron.render(t, d)

        def jinja_render(t, d):
            return ImmutableSandboxedEnvironment(keep_trailing_newline=True).from_string(t).render(**d)

    cases = []
    for kind, n, gen, fn in [
        ("mustache", N_MUSTACHE, mustache_template, mustache_render),
        ("jinja2", N_JINJA, jinja_template, jinja_render),
    ]:
        for _ in range(n):
            t = gen(rng)
            # Key order as the dump (sort_keys) will store it, so both sides see the same dicts.
            d = json.loads(json.dumps(data(rng), sort_keys=True))
            case = {"engine": kind, "template": t, "data": d}
            try:
                case["output"] = fn(t, d)
            except Exception as e:  # noqa: BLE001
                case["error"] = type(e).__name__
            cases.append(case)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump({"reference": which, "cases": cases}, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")
    ok = sum(1 for c in cases if "output" in c)
    print(f"{which} engines: {len(cases)} cases, {ok} rendered")


if __name__ == "__main__":
    main()
