"""One entry point for a symmetric Jaccard KNN graph: exact or approximate, one process, a GPU
or a Dask cluster. The heavy back ends are imported only when asked for."""

from __future__ import annotations

import scipy.sparse as sp

from .jaccard import jaccard_knn_graph, symmetrize_union


def knn_graph(X, k: int, *, device: str = "cpu", approximate: dict | bool | None = None,
              client=None, progress: bool = False, desc: str = "jaccard knn",
              info: dict | None = None) -> sp.csr_matrix:
    """Symmetric (union) Jaccard KNN graph of the rows of binary ``X``.

    ``approximate``: None/False for the exact graph, True or a dict of ``approx_knn_rows``
    parameters for the MinHash-LSH graph. ``client``: a ``dask.distributed.Client`` to build
    it in row blocks on its workers (see ``distributed.py``). ``device`` applies to the exact
    single-process build ("cuda": the torch path). ``info``, when given, receives for an
    approximate graph, in one process or on a cluster alike, each refinement round's share of
    changed entries (``refine_changed``) and the measured ``recall`` of the neighbour lists
    (``neighbour_recall`` on ``sample`` rows, 200 by default; 0 skips it).
    """
    if client is not None:
        return submit_knn_graph(X, k, client, approximate=approximate)(info)
    approximate, sample = _approximate_params(approximate)
    if approximate is not None:
        from .approximate import approx_knn_rows

        return _finish(X, k, approx_knn_rows(X, k, **approximate, info=info), approximate,
                       sample, info)
    return jaccard_knn_graph(X, k, device=device, progress=progress, desc=desc)


def submit_knn_graph(X, k: int, client, *, approximate: dict | bool | None = None):
    """``knn_graph`` on a Dask cluster, started now: returns ``result(info=None)``, which waits
    for the workers and returns the graph. The client is free meanwhile (``LeporidEmbedding``
    solves the users' eigenproblem while the workers build the items' graph)."""
    from .distributed import submit_knn_rows

    approximate, sample = _approximate_params(approximate)
    rows = submit_knn_rows(X, k, client, approximate=approximate)
    return lambda info=None: _finish(X, k, rows(info), approximate, sample, info)


def _approximate_params(approximate):
    """(parameters for approx_knn_rows or None, rows sampled for the recall check)."""
    from .approximate import approximate_spec

    approximate = approximate_spec(approximate, "knn_graph")
    if approximate is None:
        return None, 0
    sample = approximate.pop("sample", 200)
    approximate.pop("compare", None)
    return approximate, sample


def _finish(X, k, rows, approximate, sample, info) -> sp.csr_matrix:
    """Symmetrise directed CSR arrays; for an approximate graph measure the recall first."""
    if approximate is not None and info is not None and sample:
        import time

        from .approximate import neighbour_recall

        t0 = time.perf_counter()
        info["recall"] = neighbour_recall(X, rows[0], rows[1], k, sample=sample,
                                          seed=approximate.get("seed", 123))
        info["recall_sample"] = min(sample, X.shape[0])  # the rows actually sampled
        info["recall_s"] = time.perf_counter() - t0  # a check, not part of the build
    return symmetrize_union(*rows, X.shape[0])
