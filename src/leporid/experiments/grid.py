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
- several processes can work on one grid at once (``leporid reproduce --jobs N``, or runs on
  machines sharing the folder): a process *claims* a cell (``<label>-<hash>.claim``, created
  exclusively) before computing it, others skip it and come back for its result; a claim whose
  process died on this host, or that nobody refreshed for ``STALE_CLAIM_S`` (a computing
  process touches its claim every 50 s), is taken over.

Budgets (``BUDGETS``) set seeds, tuning trials, training lengths, K and the Fig. 2/4 grids.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from .. import DEFAULT_SEED, __version__
from ..results import jsonable, provenance, write_json

CELL_FORMAT = 1


@dataclass(frozen=True)
class Budget:
    """How much work each artefact does.

    ``dlr2`` and ``neural`` are training settings handed to DLR² (``DLR2Config`` fields) and to
    the other neural models (constructor keywords they accept); ``trials`` is the number of
    validation trials of each classic model's search; ``bpr`` pins BPR-MF parameters (e.g.
    epochs) in its search; ``fig2`` sizes the Barabási–Albert simulation.
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

    # -- claims: which process computes a cell when several share the folder ----------------
    def _claim_path(self, config: dict) -> Path:
        return self.path(config).with_suffix(".claim")

    def claim(self, config: dict) -> bool:
        """Claim the cell for this process: True if it is ours to compute (no claim, a claim
        of ours, or a stale one taken over), False while another live process holds it."""
        p = self._claim_path(config)
        p.parent.mkdir(parents=True, exist_ok=True)
        me = {"host": socket.gethostname(), "pid": os.getpid()}
        for _ in range(2):
            try:
                fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = _read_claim(p)
                if holder == me:
                    return True
                fresh = _age(p) < STALE_CLAIM_S     # its process refreshes it (heartbeat)
                if holder is None and fresh:
                    return False            # being written this instant
                if holder is not None and fresh and not _dead(holder):
                    return False
                p.unlink(missing_ok=True)   # stale (its process died) or unreadable: retry
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            return True
        return False

    @contextmanager
    def heartbeat(self, config: dict):
        """Keep this process's claim on the cell fresh (touched every ``STALE_CLAIM_S / 6`` s)
        while the block runs, so that only claims of processes that stopped — on any host —
        grow stale."""
        p, stop = self._claim_path(config), threading.Event()

        def touch():
            while not stop.wait(STALE_CLAIM_S / 6):
                try:
                    os.utime(p)
                except OSError:
                    pass
        t = threading.Thread(target=touch, name="leporid-claim", daemon=True)
        t.start()
        try:
            yield
        finally:
            stop.set()
            t.join()

    def release(self, config: dict) -> None:
        """Drop this process's claim on the cell (done, failed or interrupted)."""
        p = self._claim_path(config)
        if _read_claim(p) == {"host": socket.gethostname(), "pid": os.getpid()}:
            p.unlink(missing_ok=True)


#: a claim not refreshed for this long belongs to a process that stopped (killed, or its
#: machine gone): another process takes the cell over
STALE_CLAIM_S = 300.0


def _age(p: Path) -> float:
    try:
        return time.time() - p.stat().st_mtime
    except OSError:
        return float("inf")


def _read_claim(p: Path) -> dict | None:
    try:
        doc = json.loads(p.read_text())
    except (OSError, ValueError):
        return None     # gone, or being written this instant
    return {"host": doc.get("host"), "pid": doc.get("pid")} if isinstance(doc, dict) else None


def _dead(holder: dict) -> bool:
    """Whether a claim's process is known to be gone (only checkable on this host; a claim of
    another host counts as gone once it is stale)."""
    if holder.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, TypeError, ValueError):
        return False
    return False


@dataclass
class Cell:
    """A configuration and the function that computes it (``compute(config) -> dict``)."""

    config: dict
    compute: object


class CellsElsewhere(Exception):
    """Raised by ``run_cells(..., wait=False)`` when, after computing every cell it could, some
    cells are still being computed by other processes (a ``--jobs`` worker moves on)."""


def run_cells(cells: list[Cell], cache: CellCache, fingerprint: str | None,
              progress: bool = True, desc: str = "cells", wait: bool = True,
              poll: float = 2.0) -> list[dict]:
    """Results of ``cells`` in order: cached ones read back, the others computed and cached.

    A result is the cached document: ``key``, ``config``, ``provenance``, ``seconds`` and what
    ``compute`` returned; a failed cell gives ``{"config", "error"}`` (not cached).
    Duplicated configurations are computed once. A cell another process has claimed is skipped
    and, once every other cell is done, waited for (``wait``; else ``CellsElsewhere``).
    Progress counts cells and estimates the time left from the cells computed in this run.
    """
    from tqdm.auto import tqdm

    results: dict[str, dict] = {}
    todo: list[Cell] = []
    queued: set[str] = set()
    for c in cells:
        k = cell_key(c.config)
        if k in results or k in queued:
            continue
        hit = cache.get(c.config)
        if hit is not None:
            results[k] = hit
        else:
            todo.append(c)
            queued.add(k)
    n_unique = len(results) + len(todo)
    bar = tqdm(total=n_unique, initial=len(results), desc=desc, unit="cell",
               disable=not progress, dynamic_ncols=True)
    try:
        while todo:
            elsewhere = []
            for c in todo:
                k = cell_key(c.config)
                if not cache.claim(c.config):
                    elsewhere.append(c)
                    continue
                try:
                    # another process may have finished it since we looked
                    hit = cache.get(c.config)
                    if hit is None:
                        with cache.heartbeat(c.config):
                            hit = _compute(c, cache, fingerprint, bar)
                    results[k] = hit
                finally:
                    cache.release(c.config)
                bar.update(1)
            if elsewhere and not wait:
                raise CellsElsewhere(f"{len(elsewhere)} {desc} cell(s) are being computed by "
                                     "other processes")
            todo = []
            for c in elsewhere:
                hit = cache.get(c.config)
                if hit is not None:
                    results[cell_key(c.config)] = hit
                    bar.update(1)
                else:
                    todo.append(c)
            if todo:
                bar.set_postfix_str(f"waiting for {len(todo)} cell(s) of other processes")
                time.sleep(poll)
    finally:
        bar.close()
    return [results[cell_key(c.config)] for c in cells]


def _compute(c: Cell, cache: CellCache, fingerprint: str | None, bar) -> dict:
    """One cell computed and cached; a failure is returned as ``{"config", "error"}``."""
    bar.set_postfix_str(_label(c.config)[:40])
    t0 = time.perf_counter()
    try:
        out = c.compute(c.config)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - one failed cell must not stop the grid
        return {"config": jsonable(c.config), "error": f"{type(exc).__name__}: {exc}"}
    seconds = time.perf_counter() - t0
    doc = {"provenance": provenance(c.config, c.config.get("seed"), fingerprint),
           "seconds": round(seconds, 3), "computed_by": f"{socket.gethostname()}:{os.getpid()}",
           **out}
    return cache.put(c.config, doc)
