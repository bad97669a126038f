"""The experiment grid on Dask: cells as tasks, results back to the one process that caches them.

``GridCluster(spec)`` opens the scheduler named by ``spec`` (the syntax and parser of
``leporid embed --scheduler``, ``leporid.graph.distributed.parse_scheduler``):

- ``local:N``: a ``LocalCluster`` of N worker *processes* on this machine, one thread each (a
  model trains with one torch thread; separate processes because training holds the GIL), and
  on a machine with a GPU every worker offers it as the resource ``GPU=1``; closed with the run
  (an interrupted or terminated client takes its workers with it);
- ``tcp://HOST:PORT`` (``tls://`` ...): a running scheduler, e.g. ``dask scheduler`` with
  ``dask worker tcp://HOST:8786 --nthreads 1`` per core or per GPU (``--resources "GPU=1"``),
  every worker with this leporid installed (see docs/cluster.md).

The run's context (split, budget, device: everything a cell reads) is sent to every worker once
(``scatter(broadcast=True)``; a worker that joins later gets it from a peer), never loaded there
by path, so the workers need no shared file system. Each cell is one task that returns its
result document; the client writes the cache. A cell that trains on CUDA asks for
``resources={"GPU": 1}``. A worker that dies mid-cell (killed, out of memory, machine gone)
has its cell recomputed on another worker, up to the scheduler's
``distributed.scheduler.allowed-failures`` (3 by default) deaths per cell; past that the cell
is reported as failed and not cached. Cells that raise are reported with their error and not
cached, as in one process. Every cell announces its start on the event topic ``TOPIC``: the
progress bar counts the running cells from it, and a cell started more than once was
recomputed after its worker was lost (``restarted``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

from .grid import Cell, Progress, _label, cell_key, compute_cell

#: the event topic on which each cell announces its start
TOPIC = "leporid-cell"
#: seconds to reach a scheduler address before giving up
CONNECT_TIMEOUT_S = 10
#: times a run sends its context again after every copy was lost with the workers holding it
RESHIPS = 3


class GridCluster:
    """A Dask client for the grid's cells (``spec``: ``local:N`` or a scheduler address);
    ``device`` is the run's torch device (cells on CUDA ask for a GPU resource)."""

    def __init__(self, spec: str, device: str = "cpu"):
        from ..graph.distributed import parse_scheduler

        kind, value = parse_scheduler(spec)
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:
            raise ImportError('--jobs N / --scheduler need Dask: pip install "leporid[dist]"'
                              ) from exc
        self.spec, self.device, self.cluster = spec, device, None
        self.gpu = str(device).startswith("cuda")
        self.restarted = 0
        self._starts: Counter = Counter()
        self._lock = threading.Lock()
        self._shipped: dict = {}
        self._prefetched: dict = {}         # cell key -> (future, context future) submitted
        if kind == "local":
            self.cluster = LocalCluster(
                n_workers=value, threads_per_worker=1, processes=True,
                dashboard_address=":0" if _has_dashboard() else None,
                memory_limit=0,         # as N processes of leporid: no Dask memory policing
                # its own messages (a lost worker, lost data) are handled and reported here
                resources={"GPU": 1} if _gpu_here() else None, silence_logs=logging.CRITICAL)
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(value, timeout=f"{CONNECT_TIMEOUT_S}s")
            except (OSError, TimeoutError) as exc:
                raise OSError(f"cannot reach the Dask scheduler at {value} within "
                              f"{CONNECT_TIMEOUT_S} s ({type(exc).__name__})") from None
        self.client.subscribe_topic(TOPIC, self._started)

    @property
    def dashboard(self) -> str | None:
        """The Dask dashboard's address, when there is one (a local cluster has one when bokeh
        is installed; a scheduler's own is reported by it)."""
        if self.cluster is not None and not _has_dashboard():
            return None
        try:
            services = self.client.scheduler_info().get("services", {})
            return self.client.dashboard_link if "dashboard" in services else None
        except (AttributeError, KeyError, OSError):
            return None

    def check_gpu(self) -> None:
        """With CUDA cells: a cluster whose workers offer no ``GPU`` resource would hold them
        forever; say so now (a cluster with no workers yet may get them later)."""
        if not self.gpu:
            return
        workers = self.client.scheduler_info()["workers"].values()
        if workers and not any(w.get("resources", {}).get("GPU") for w in workers):
            raise OSError(f"--device {self.device}: no worker of {self.spec} offers a GPU; start "
                          'them with dask worker ADDRESS --resources "GPU=1"')

    def _started(self, event) -> None:
        """Event handler (the client's thread): a cell started on some worker."""
        with self._lock:
            key = event[1]["key"]
            self._starts[key] += 1
            self.restarted += self._starts[key] > 1

    def _ship(self, ctx, lost=None):
        """The context's future, scattered to every worker once per run (again if ``lost``,
        the future whose every copy went with its workers)."""
        fut = self._shipped.get(id(ctx))
        if fut is None or fut is lost:
            fut = self.client.scatter(ctx, broadcast=True, hash=False)
            self._shipped[id(ctx)] = fut
        return fut

    def _submit(self, key: str, c: Cell, shipped, fingerprint: str | None, again: int = 0,
                priority: int = 0):
        """The task of cell ``key`` (a new task name when sent ``again``: Dask remembers the
        name of a cancelled task)."""
        name = f"cell-{_label(c.config)}-{key}" + (f"-{again}" if again else "")
        res = {"resources": {"GPU": 1}} if self.gpu else {}
        return self.client.submit(_run_cell, c.compute, c.config, shipped, fingerprint, key,
                                  key=name, pure=False, priority=priority, **res)

    def prefetch(self, cells: list[Cell], ctx, priority: int = 0) -> None:
        """Submit the cells not cached yet now (``priority``: higher first); ``run`` takes
        them over."""
        shipped = self._ship(ctx)
        for c in cells:
            k = cell_key(c.config)
            if k not in self._prefetched and ctx.cache.get(c.config) is None:
                self._prefetched[k] = (self._submit(k, c, shipped, ctx.fingerprint,
                                                    priority=priority), shipped)

    def run(self, todo: dict[str, Cell], ctx, fingerprint: str | None, bar: Progress,
            poll: float = 0.2):
        """Yield ``(key, result document)`` of the cells ``todo`` (``{cell key: Cell}``) as
        they come back, the bar's running count kept up to date meanwhile. Cells whose context
        was lost with its workers (every copy gone) are sent again with a new copy."""
        shipped = self._ship(ctx)
        pending = {k: self._prefetched.pop(k, None) or (self._submit(k, c, shipped, fingerprint),
                                                        shipped)
                   for k, c in todo.items()}
        reships = 0
        try:
            while pending:
                ready = [k for k, (f, _) in pending.items() if f.done()]
                for k in ready:
                    f, used = pending.pop(k)
                    if f.cancelled() and used.status != "finished" and reships < RESHIPS:
                        if used is shipped:         # every copy lost: send it again
                            reships += 1
                            shipped = self._ship(ctx, lost=used)
                        pending[k] = (self._submit(k, todo[k], shipped, fingerprint, reships),
                                      shipped)
                        continue
                    try:
                        doc = f.result()
                    except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: reported
                        doc = _failed(todo[k], exc)
                    yield k, doc
                with self._lock:
                    bar.running = sum(k in self._starts and not f.done()
                                      for k, (f, _) in pending.items())
                bar.note = f"restarted {self.restarted}" if self.restarted else ""
                bar.show()
                if not ready:
                    time.sleep(poll)
        finally:
            if pending:             # interrupted: the cells no one waits for stop
                self.client.cancel([f for f, _ in pending.values()])

    def close(self) -> None:
        self.client.cancel([f for f, _ in self._prefetched.values()])
        for fut in self._shipped.values():
            fut.release()
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _failed(c: Cell, exc: BaseException) -> dict:
    from ..results import jsonable

    return {"config": jsonable(c.config), "error": f"{type(exc).__name__}: {exc}"}


_EMBEDDINGS: dict = {}      # on a worker: (data, dim, device) -> the embeddings memo of its runs


def _run_cell(compute, config: dict, ctx, fingerprint: str | None, key: str) -> dict:
    """Cell ``key``'s task, on a worker: announce the start, compute, return the result
    document."""
    from distributed import get_worker

    get_worker().log_event(TOPIC, {"key": key})
    # embeddings computed once per worker process and data, whichever copy of the context
    # this task got (Dask may drop a copy between tasks and send it again)
    memo = (ctx.fingerprint, ctx.budget.dim, ctx.device)
    if memo not in _EMBEDDINGS:
        _EMBEDDINGS.clear()
        _EMBEDDINGS[memo] = {}
    ctx._embeddings = _EMBEDDINGS[memo]
    if ctx.threads:
        import torch

        torch.set_num_threads(ctx.threads)
    return compute_cell(compute, config, ctx, fingerprint)


def _has_dashboard() -> bool:
    import importlib.util

    return importlib.util.find_spec("bokeh") is not None


def _gpu_here() -> bool:
    from ..utils.device import resolve_device

    return resolve_device("auto").startswith("cuda")


__all__ = ["CONNECT_TIMEOUT_S", "GridCluster", "TOPIC"]
