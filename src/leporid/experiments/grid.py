"""The cached, resumable grid runner every artefact runs its cells through.

A *cell* is one unit of work with a complete, JSON-serialisable configuration: dataset
fingerprint × protocol × model × initialisation × setting × seed (plus the budget's training
settings). Its result is written, atomically, to ``<cache>/cells/<label>-<hash>.json`` as soon
as it is done, where ``hash`` is the SHA-256 of the canonical JSON of the whole configuration.
Hence

- an interrupted run resumes where it stopped (finished cells are read back, unfinished ones
  start over — a cell is the unit of resumption);
- a changed configuration (another budget, seed, K, α, dataset or protocol) gives other hashes,
  so only the cells that changed are recomputed, and cells shared between artefacts (DLR² with
  LEPORID appears in Tables 3–7 and Fig. 4) are computed once;
- a cell that fails is reported with its error and not cached, so a later run retries it;
- the key includes the leporid version; after changing the code within one version, run with
  ``fresh`` (``--fresh``) to recompute;
- cells run one after the other in this process, or as tasks on a Dask cluster
  (``leporid reproduce --jobs N`` / ``--scheduler``, see ``cluster``); either way the results
  come back here and this process alone writes the cache (no claims, no shared file system).

Budgets (``BUDGETS``) set seeds, tuning trials, training lengths, K and the Fig. 2/4 grids.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from .. import DEFAULT_SEED, __version__
from ..results import jsonable, provenance, write_json

CELL_FORMAT = 1


@dataclass(frozen=True)
class Budget:
    """How much work each artefact does.

    ``dlr2`` and ``neural`` are settings handed to DLR² (``TrainingConfig`` or ``DLR2Config``
    fields) and to the other neural models (constructor keywords they accept); ``trials`` is the
    number of validation trials of each classic model's search; ``bpr`` pins BPR-MF parameters
    (e.g. epochs) in its search; ``fig2`` sizes the Barabási–Albert simulation.
    """

    name: str
    seeds: tuple[int, ...]
    trials: int
    neighbors: int = 1000
    dim: int = 64
    dlr2: dict = field(default_factory=dict)
    neural: dict = field(default_factory=dict)
    bpr: dict = field(default_factory=dict)
    alpha_grid: tuple[float, ...] = (0.0, 0.3, 0.5, 0.7, 1.0)
    k_grid: tuple[int, ...] = (100, 250, 500, 1000, 2000)
    fig2: dict = field(default_factory=lambda: {"graphs": 50, "n": 100, "m": 10, "dims": 40,
                                                "insertions": 30})

    def with_(self, **changes) -> Budget:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return jsonable(self.__dict__)


BUDGETS: dict[str, Budget] = {
    # minutes on the bundled dataset, on 2 cores: one seed, 120 DLR² steps (a third of an
    # epoch of ml-latest-small), a few trials — a test of the machinery, not for conclusions
    "smoke": Budget("smoke", seeds=(DEFAULT_SEED,), trials=2,
                    dlr2={"iterations": 120, "eval_every": 60}, neural={"epochs": 2},
                    bpr={"epochs": 10}, k_grid=(50, 1000),
                    fig2={"graphs": 4, "n": 100, "m": 10, "dims": 40, "insertions": 3}),
    # means ± std over 3 seeds; the other neural models train to early stopping with their
    # defaults (15-70 s each on ml-100k, one CPU core), DLR² for 2 epochs with 4 validations
    # (its early stopping takes ~10 epochs, ~1 min each on CPU, and ~66 DLR² cells are needed):
    # `reproduce all` on ml-100k then fits in ~2 h on 2 cores with --jobs 2
    "default": Budget("default", seeds=(DEFAULT_SEED, DEFAULT_SEED + 1, DEFAULT_SEED + 2),
                      trials=30, dlr2={"epochs": 2}),
    # the paper's settings: K = 1000, α = 0.5, 𝒟 = 64, 50 BA graphs x 30 insertions, long
    # training with early stopping on validation, 50 trials per classic model
    "paper": Budget("paper", seeds=(DEFAULT_SEED, DEFAULT_SEED + 1, DEFAULT_SEED + 2),
                    trials=50, dlr2={"epochs": 20, "patience": 5}),
}


def cell_key(config: dict) -> str:
    """The 16-hex-digit hash of a cell's canonical configuration and the leporid version (a new
    release recomputes; within one version, ``--fresh`` does)."""
    blob = json.dumps(jsonable({"cell_format": CELL_FORMAT, "leporid": __version__, **config}),
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _label(config: dict) -> str:
    """A readable file-name prefix (the hash alone identifies the cell)."""
    variant = config.get("dlr2") or {}
    ip = config.get("init_params") or {}
    parts = [config.get(k) for k in ("kind", "model", "init", "setting")]
    parts += [variant.get(k) for k in ("arch", "loss", "score_with")]
    parts += [f"a{ip['alpha']:g}" if "alpha" in ip else None,
              f"K{ip['n_neighbors']}" if "n_neighbors" in ip else None, config.get("seed")]
    text = "-".join(str(p) for p in parts if p not in (None, ""))
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


class CellCache:
    """One JSON file per finished cell under ``folder``; ``fresh`` ignores what is stored
    (and overwrites it)."""

    def __init__(self, folder: str | Path, fresh: bool = False):
        self.folder = Path(folder)
        self.fresh = fresh

    def path(self, config: dict) -> Path:
        return self.folder / f"{_label(config)}-{cell_key(config)}.json"

    def get(self, config: dict) -> dict | None:
        p = self.path(config)
        if self.fresh or not p.exists():
            return None
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):       # never written half (atomic), but be safe
            return None
        # anything but this cell's object (a list, another cell's key) is recomputed
        return doc if isinstance(doc, dict) and doc.get("key") == cell_key(config) else None

    def put(self, config: dict, result: dict) -> dict:
        doc = {"key": cell_key(config), "config": jsonable(config), **result}
        write_json(self.path(config), doc)
        return doc


@dataclass
class Cell:
    """A configuration and the function that computes it: ``compute(config, ctx) -> dict``,
    ``ctx`` being the run's context (its split, budget, device, embeddings) — on a cluster the
    worker's copy of it, sent there once. So ``compute`` must not hold the context itself: a
    module-level function, or a closure over small values (it travels with every task)."""

    config: dict
    compute: Callable


def compute_cell(compute: Callable, config: dict, ctx, fingerprint: str | None) -> dict:
    """One cell's result document, computed where it runs (this process or a worker) and cached
    by the caller: ``provenance`` (host included), ``seconds``, ``computed_by`` and what
    ``compute`` returned; a failure gives ``{"config", "error"}``."""
    t0 = time.perf_counter()
    try:
        out = compute(config, ctx)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - one failed cell must not stop the grid
        return {"config": jsonable(config), "error": f"{type(exc).__name__}: {exc}"}
    seconds = time.perf_counter() - t0
    return {"provenance": provenance(config, config.get("seed"), fingerprint),
            "seconds": round(seconds, 3), "computed_by": f"{socket.gethostname()}:{os.getpid()}",
            **out}


class Progress:
    """One bar over a grid's cells: done (the bar), running, failed, cached (its postfix)."""

    def __init__(self, total: int, cached: int, desc: str, enabled: bool):
        from tqdm.auto import tqdm

        self.running = self.failed = 0
        self.cached = cached
        self.note = self._shown = ""
        self.bar = tqdm(total=total, initial=cached, desc=desc, unit="cell",
                        disable=not enabled, dynamic_ncols=True)
        self.show()

    def show(self) -> None:
        text = f"running {self.running}, failed {self.failed}, cached {self.cached}" + (
            f", {self.note}" if self.note else "")
        if text != self._shown:         # a refresh only when a count changed
            self._shown = text
            self.bar.set_postfix_str(text)

    def done(self, doc: dict) -> None:
        self.failed += "error" in doc
        self.bar.update(1)
        self.show()

    def close(self) -> None:
        self.bar.close()


def run_cells(cells: list[Cell], cache: CellCache, fingerprint: str | None,
              progress: bool = True, desc: str = "cells", ctx=None,
              cluster=None) -> list[dict]:
    """Results of ``cells`` in order: cached ones read back, the others computed — here, one
    after the other, or as tasks of ``cluster`` (a ``GridCluster``) — and cached by this
    process alone, each as soon as it is back.

    A result is the cached document: ``key``, ``config``, ``provenance``, ``seconds`` and what
    ``compute`` returned; a failed cell gives ``{"config", "error"}`` (not cached).
    Duplicated configurations are computed once. ``ctx`` is handed to every ``compute``.
    """
    results: dict[str, dict] = {}
    todo: dict[str, Cell] = {}
    for c in cells:
        k = cell_key(c.config)
        if k in results or k in todo:
            continue
        hit = cache.get(c.config)
        if hit is not None:
            results[k] = hit
        else:
            todo[k] = c
    bar = Progress(len(results) + len(todo), len(results), desc, progress)
    try:
        if cluster is not None:
            docs = cluster.run(todo, ctx, fingerprint, bar)
        else:
            docs = ((k, _here(c, ctx, fingerprint, bar)) for k, c in todo.items())
        for k, doc in docs:
            results[k] = doc if "error" in doc else cache.put(todo[k].config, doc)
            bar.done(doc)
    finally:
        bar.close()
    return [results[cell_key(c.config)] for c in cells]


def _here(c: Cell, ctx, fingerprint: str | None, bar: Progress) -> dict:
    """One cell computed in this process."""
    bar.running, bar.note = 1, _label(c.config)[:40]
    bar.show()
    try:
        return compute_cell(c.compute, c.config, ctx, fingerprint)
    finally:
        bar.running = 0
