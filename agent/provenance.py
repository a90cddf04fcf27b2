"""Which code made a cached artefact: a hash of the sources a pricing decision depends on.

Why: benchmarks cache LLM decisions by chunk and training reuses saved demonstrations; both take
hours to remake, so both are kept between runs. A cache keyed only on its settings would serve
prompts and prices of older code after a change to the prompt, the evidence or the market. Each
cache stores this fingerprint and is remade when it differs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def code_fingerprint() -> str:
    """A hash of every source file a decision depends on (the market in `env/`, the agent in `agent/`)."""
    digest = hashlib.sha256()
    for path in sorted([*ROOT.glob("env/**/*.py"), *ROOT.glob("agent/**/*.py")]):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]
