"""Record the golden results that ``tests/test_golden.py`` compares against.

Run from the repository root, only when a change is *meant* to change numbers (say why in the
commit): ``python tests/golden/record.py``. It writes ``tests/golden/goldens.json``:

- for every registered model, a short seeded run on the bundled data through the CLI
  (``leporid train --model M --init leporid --iterations 40 --seed 123`` for the neural ones,
  ``leporid evaluate --model M --seed 123`` for the classic ones): the validation and test rows
  and, for neural models, the training history (losses and validation metrics per step);
- for every registered initialiser, the SHA-256 of its user and item arrays on the bundled
  training matrix (dim 16, seed 123);
- the SHA-256 of LEPORID's and LE's default embeddings on ml-100k when ``../shared`` has it.

The first goldens were recorded from main at b5a5748, before the "one contract" refactor.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ML100K = HERE.parents[1].parent / "shared" / "datasets" / "ml-100k"
NEURAL_ITERATIONS = 40


def _digest(a) -> str:
    import numpy as np

    a = np.ascontiguousarray(a)
    return hashlib.sha256(f"{a.dtype}{a.shape}".encode() + a.tobytes()).hexdigest()


def model_run(name: str, out: str) -> dict:
    """One model's CLI run; the parts of its result file that must not change."""
    from leporid.cli import main
    from leporid.models import neural_models

    if name in neural_models():
        argv = ["train", "--model", name, "--init", "leporid", "--iterations",
                str(NEURAL_ITERATIONS), "--seed", "123"]
    else:
        argv = ["evaluate", "--model", name, "--seed", "123"]
    rc = main([*argv, "--out", out])
    if rc != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {rc}")
    [path] = Path(out).glob("*.json")
    result = json.loads(path.read_text())
    kept = {"rows": result["rows"]}
    if "history" in result:
        kept["history"] = [{k: v for k, v in h.items() if k not in ("seconds", "steps_per_s")}
                           for h in result["history"]]
    return kept


def init_digests(name: str, split) -> dict:
    from leporid.init import initialize

    user, item = initialize(name, split.train, dim=16, seed=123, cache=False)
    return {"user": _digest(user), "item": _digest(item)}


def ml100k_digests() -> dict | None:
    if not ML100K.is_dir():
        return None
    from leporid.data import load, prepare
    from leporid.init import initialize

    files = sorted(ML100K.glob("*.inter"))
    split = prepare(load(str(files[0])), min_count=20)
    out = {}
    for scheme in ("leporid", "le"):
        user, item = initialize(scheme, split.train, dim=64, seed=123, cache=False)
        out[scheme] = {"user": _digest(user), "item": _digest(item)}
    return out


def bundled_split():
    from leporid.data import load, prepare

    return prepare(load("ml-latest-small"), min_count=20)


def record() -> dict:
    from leporid.init import available
    from leporid.models import MODELS

    goldens = {"neural_iterations": NEURAL_ITERATIONS, "models": {}, "inits": {}}
    for name in sorted(MODELS):
        with tempfile.TemporaryDirectory() as out:
            goldens["models"][name] = model_run(name, out)
        print("model", name, file=sys.stderr)
    split = bundled_split()
    for name in available():
        goldens["inits"][name] = init_digests(name, split)
        print("init", name, file=sys.stderr)
    goldens["ml100k"] = ml100k_digests()
    return goldens


if __name__ == "__main__":
    os.environ.setdefault("LEPORID_CACHE", "off")
    goldens = record()
    (HERE / "goldens.json").write_text(json.dumps(goldens, indent=1, sort_keys=True) + "\n")
