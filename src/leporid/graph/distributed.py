"""Jaccard KNN graphs built in row blocks on a Dask cluster (``pip install "leporid[dist]"``).

The binary interaction matrix is sent to every worker once (``scatter(broadcast=True)``); each
task computes the directed neighbour lists of one block of rows against all rows with the same
kernel as one process (``knn_rows(..., rows=(lo, hi))``, or the approximate
``approx_knn_rows`` with the MinHash tables broadcast too); the client gathers the blocks as CSR
arrays and symmetrises. Each row's result does not depend on the blocking (integer counts, one
selection rule), so the exact distributed graph equals the single-process graph bit for bit.

Schedulers: ``local:N`` starts a ``LocalCluster`` of N workers on this machine, as threads of
this process (the kernels release the GIL; the machine's threads split evenly between the
workers; closed afterwards); ``tcp://HOST:PORT`` (or ``tls://``,
``ws://``...) connects to a running scheduler, e.g. one started with ``dask scheduler`` and
``dask worker tcp://HOST:8786`` on each machine, every worker with leporid installed.
"""

from __future__ import annotations

import logging
import os
import re

import numpy as np

# inproc:// names a scheduler inside this very process and ucx:// needs ucx-py: neither can be
# reached by a command that starts, so both are refused where the option is parsed
_ADDRESS = re.compile(r"^(tcp|tls|ws|wss)://[^\s/]+$")
#: memory each local worker needs at the least (its share of the machine's memory is its limit)
WORKER_MIN_BYTES = 512 << 20


def parse_scheduler(spec: str) -> tuple[str, object]:
    """``("local", N)`` for ``local:N``, ``("address", spec)`` for ``tcp://HOST:PORT``;
    ValueError naming the accepted forms otherwise."""
    spec = str(spec).strip()
    if spec.startswith("local:"):
        n = spec[len("local:"):]
        if n.isdigit() and int(n) >= 1:
            return "local", check_local_workers(int(n), spec)
        raise ValueError(f"--scheduler {spec!r}: local:N needs a whole number of workers N >= 1")
    if _ADDRESS.match(spec):
        return "address", spec
    raise ValueError(f"--scheduler {spec!r}: expected local:N (a local cluster of N workers) "
                     f"or a scheduler address such as tcp://HOST:8786")


def check_local_workers(n: int, spec: str = "") -> int:
    """``n`` if this machine can run ``n`` local workers (at most one per core, each with at
    least ``WORKER_MIN_BYTES`` of memory), else a ValueError saying the bound — so ``local:64``
    on 2 cores fails at once instead of after minutes of stalled workers."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        memory = None
    bound = min(cores, memory // WORKER_MIN_BYTES) if memory else cores
    if n > bound:
        why = f"{cores} core(s)" if bound == cores else f"{memory / 2**30:.1f} GiB of memory"
        raise ValueError(f"--scheduler {spec or f'local:{n}'!r}: this machine runs at most "
                         f"{max(bound, 1)} local worker(s) ({why}); use local:{max(bound, 1)} or "
                         f"a cluster's tcp://HOST:PORT")
    return n


def _dask():
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise ImportError('the Dask scheduler needs dask.distributed: pip install "leporid[dist]"'
                          ) from exc
    return Client, LocalCluster


_PENDING: dict = {}     # spec -> (thread, result box) of a connection started ahead of use


def prestart(spec: str) -> None:
    """Start connecting to ``spec`` (cluster start-up, workers' imports and kernels) in a
    background thread, so that it overlaps reading the input; ``connect(spec)`` then takes it
    over. Errors surface in ``connect``."""
    import threading

    if spec in _PENDING:
        return
    box: dict = {}

    def work():
        try:
            box["value"] = _connect(spec)
        except BaseException as exc:  # noqa: BLE001 - re-raised by connect()
            box["error"] = exc

    t = threading.Thread(target=work, name="leporid-dask-connect", daemon=True)
    t.start()
    if not _PENDING:
        import atexit

        atexit.register(_close_unused)
    _PENDING[spec] = (t, box)


def _close_unused() -> None:
    """At exit: close connections started but never taken over (the command failed first)."""
    while _PENDING:
        _, (t, box) = _PENDING.popitem()
        t.join(timeout=30)
        if "value" in box:
            close(*box["value"])


def connect(spec: str):
    """(client, cluster or None) for a scheduler spec, workers warmed up (leporid's graph
    kernels loaded); close both when done (``close``)."""
    pending = _PENDING.pop(spec, None)
    if pending is None:
        return _connect(spec)
    t, box = pending
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _connect(spec: str):
    kind, value = parse_scheduler(spec)
    Client, LocalCluster = _dask()
    if kind == "local":
        threads = max(1, (os.cpu_count() or 1) // value)
        # thread workers in this process: the kernels release the GIL, so N workers run in
        # parallel without N interpreters importing leporid and numba or a copy of X each
        # (ML-1M-sized embed: +5% over one process, against +27% with worker processes)
        import tempfile

        # the workers' scratch space in one folder of ours, removed by close() (Dask's default
        # leaves one folder per worker in the system temp dir when a run is interrupted)
        scratch = tempfile.mkdtemp(prefix="leporid-dask-")
        try:
            import dask

            with dask.config.set({"temporary-directory": scratch}):
                cluster = LocalCluster(n_workers=value, threads_per_worker=threads,
                                       processes=False, dashboard_address=None,
                                       silence_logs=logging.ERROR, local_directory=scratch)
                client = Client(cluster)
        except BaseException:
            _remove(scratch)
            raise
        _SCRATCH[id(cluster)] = scratch
    else:
        client, cluster = Client(value, timeout="30s"), None
    # each worker imports the kernels once now (~0.8 s), not inside its first block
    client.run(_warm_worker)
    return client, cluster


def _warm_worker() -> None:
    from .jaccard import warm_up_kernels

    warm_up_kernels(quiet=True)


_SCRATCH: dict = {}     # id(local cluster) -> its scratch folder


def _remove(folder) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def close(client, cluster) -> None:
    try:
        client.close()
        if cluster is not None:
            cluster.close()
    finally:
        if cluster is not None and id(cluster) in _SCRATCH:
            _remove(_SCRATCH.pop(id(cluster)))


def _worker_threads() -> None:
    """Give numba the worker's thread count (N workers on one machine share its cores)."""
    try:
        import numba
        from distributed import get_worker

        numba.set_num_threads(max(1, min(numba.config.NUMBA_NUM_THREADS,
                                         get_worker().state.nthreads)))
    except (ImportError, ValueError, AttributeError):  # pragma: no cover
        pass


def _exact_block(X, k, lo, hi):
    from .jaccard import knn_rows

    _worker_threads()
    return lo, knn_rows(X, k, rows=(lo, hi))


def _approx_block(X, k, lo, hi, tables, params):
    from .approximate import lsh_neighbours

    _worker_threads()
    return lo, lsh_neighbours(X, k, rows=(lo, hi), tables=tables, **params)


def knn_rows_dask(X, k: int, client, *, approximate: dict | None = None,
                  blocks_per_worker: int = 2, info: dict | None = None):
    """Directed KNN CSR arrays (indptr, indices, values) of the rows of ``X``, computed in row
    blocks on the workers of ``client``. ``approximate``: parameters of ``approx_knn_rows``
    (its refinement rounds run on the client, over the gathered lists), or None for exact.
    ``info`` receives what ``approx_knn_rows`` puts there (``refine_changed``)."""
    return submit_knn_rows(X, k, client, approximate=approximate,
                           blocks_per_worker=blocks_per_worker)(info)


def submit_knn_rows(X, k: int, client, *, approximate: dict | None = None,
                    blocks_per_worker: int = 2):
    """Start ``knn_rows_dask`` on the cluster and return at once: ``result(info=None)``, which
    waits for the blocks and returns the CSR arrays (an approximate build fills ``info`` like
    ``approx_knn_rows``). Lets the client work (e.g. solve one side's eigenproblem) while the
    workers build the next graph."""
    from .jaccard import _binary_csr

    X = _binary_csr(X)
    n = X.shape[0]
    n_workers = max(1, len(client.scheduler_info()["workers"]))
    n_blocks = max(1, min(n, n_workers * blocks_per_worker))
    bounds = np.linspace(0, n, n_blocks + 1).astype(int)
    Xf = client.scatter(X, broadcast=True)  # the interaction matrix travels once per worker
    if approximate is None:
        futures = [client.submit(_exact_block, Xf, k, int(lo), int(hi), pure=False)
                   for lo, hi in zip(bounds[:-1], bounds[1:])]

        def exact_result(info=None):    # nothing to report: one signature for both waiters
            parts = [p for _, p in sorted(client.gather(futures), key=lambda p: p[0])]
            counts = np.concatenate([np.diff(ip) for ip, _, _ in parts])
            indptr = np.zeros(n + 1, np.int64)
            np.cumsum(counts, out=indptr[1:])
            return (indptr, np.concatenate([ix for _, ix, _ in parts]),
                    np.concatenate([v for _, _, v in parts]))

        return exact_result
    from .approximate import REFINE, check_refinement, lsh_tables, refined_rows

    params = dict(approximate)
    # the refinement runs here on the gathered lists; unset keys keep refined_rows' defaults
    refine = {key: params.pop(key) for key in ("refine", "fan", "stop") if key in params}
    check_refinement(refine.get("refine", REFINE), refine.get("fan"))  # before the workers' LSH
    tables = client.scatter(lsh_tables(X, params.get("bands", 64), params.get("seed", 123)),
                            broadcast=True)
    futures = [client.submit(_approx_block, Xf, k, int(lo), int(hi), tables, params, pure=False)
               for lo, hi in zip(bounds[:-1], bounds[1:])]

    def approx_result(info=None):
        parts = [p for _, p in sorted(client.gather(futures), key=lambda p: p[0])]
        lists = tuple(np.concatenate([p[i] for p in parts]) for i in range(3))
        return refined_rows(X, lists, **refine, info=info)

    return approx_result
