#!/usr/bin/env python3
"""Deterministic synthetic prompt library for the watcher benchmark.

usage: gen.py N DIR [SEED] [--typed]

Writes N files under DIR: 70% personas (personas/<group>/<slug>.json) and 30% Prompty
templates (prompts/<group>/<slug>.prompty), shaped like the real corpus (ids, names,
descriptions, tags, authors, model settings, a templated body of a few hundred words).
Same (N, SEED) -> byte-identical files on every machine (own PRNG, no randomness from
the platform).

--typed: the prompts also declare typed `inputs` (v2 property lists and v1 maps, every
other file) and `outputs`, and their templates use them, as typed prompts do (#16's
benchmark, scripts/bench-typed). Without it the files are what they always were."""
import os
import sys

WORDS = ("you are an expert assistant who helps users write clear concise answers "
         "about code data travel health finance marketing support research design "
         "explain step by step with examples and ask clarifying questions when the "
         "request is ambiguous keep a friendly professional tone cite sources avoid "
         "speculation summarize translate review refactor plan estimate compare").split()
TAGS = ["writing", "coding", "support", "marketing", "education", "travel", "health",
        "finance", "legal", "sql", "python", "data", "design", "research", "chat", "rag"]
FIRST = ["Jane", "John", "Ana", "Wei", "Priya", "Omar", "Lena", "Carlos", "Yuki", "Sam"]


class Rng:
    """splitmix64"""

    def __init__(self, seed):
        self.s = (seed ^ 0x5DEECE66D1CE4E5B) & (2**64 - 1)

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & (2**64 - 1)
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & (2**64 - 1)
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & (2**64 - 1)
        return z ^ (z >> 31)

    def below(self, n):
        return self.next() % n


def words(r, n):
    return " ".join(WORDS[r.below(len(WORDS))] for _ in range(n))


def persona(r, i):
    import json
    name = f"{FIRST[r.below(len(FIRST))]} the {words(r, 2).title()} {i}"
    return json.dumps({
        "id": f"persona-{i:06d}",
        "name": name,
        "description": words(r, 12).capitalize() + ".",
        "tags": sorted({TAGS[r.below(len(TAGS))] for _ in range(3)}),
        "authors": [FIRST[r.below(len(FIRST))]],
        "prompt": words(r, 120 + r.below(200)).capitalize() + ".",
    }, indent=2) + "\n"


V2_INPUTS = """inputs:
  - name: question
    kind: string
    required: true
    description: The user's question
  - name: tone
    kind: string
    enumValues: [calm, formal, friendly]
    default: calm
  - name: max_items
    kind: integer
    default: 5
  - name: tags
    kind: array
    items:
      kind: string
outputs:
  - name: answer
    kind: string
    required: true
  - name: sources
    kind: array
    items:
      kind: string
"""

V1_INPUTS = """inputs:
  question:
    type: string
    description: The user's question
    sample: What can you do?
  tone:
    type: string
    default: calm
  max_items: 5
"""


def prompty(r, i, typed=False):
    tags = sorted({TAGS[r.below(len(TAGS))] for _ in range(3)})
    inputs = (V2_INPUTS if i % 2 else V1_INPUTS) if typed else ""
    user = ("user:\n{{question}} (in a {{tone}} tone, at most {{max_items}} items)\n"
            if typed else "user:\n{{question}}\n")
    return (
        "---\n"
        f"id: prompt-{i:06d}\n"
        f"name: {words(r, 3).title()} {i}\n"
        f"description: {words(r, 10).capitalize()}.\n"
        f"authors:\n  - {FIRST[r.below(len(FIRST))]}\n"
        f"tags: [{', '.join(tags)}]\n"
        "model:\n  api: chat\n  configuration:\n    type: azure_openai\n"
        "    azure_deployment: gpt-4o\n  parameters:\n"
        f"    max_tokens: {200 + r.below(2000)}\n"
        "sample:\n  question: What can you do?\n"
        f"{inputs}"
        "---\n"
        "system:\n"
        f"{words(r, 80 + r.below(150)).capitalize()}.\n\n"
        f"{user}"
    )


def path_of(i):
    kind = "personas" if i % 10 < 7 else "prompts"
    ext = "json" if kind == "personas" else "prompty"
    return f"{kind}/group-{i % 20:02d}/item-{i:06d}.{ext}"


def main():
    args = [a for a in sys.argv[1:] if a != "--typed"]
    typed = "--typed" in sys.argv[1:]
    n, out = int(args[0]), args[1]
    seed = int(args[2]) if len(args) > 2 else 42
    for i in range(n):
        r = Rng(seed * 1_000_003 + i)
        rel = path_of(i)
        text = persona(r, i) if rel.startswith("personas/") else prompty(r, i, typed)
        p = os.path.join(out, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
