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
    single-process build ("cuda": the torch path). ``info``, when given, receives the measured
    ``recall`` of the approximate neighbour lists (``neighbour_recall`` on ``sample`` rows, 200
    by default; 0 skips it).
    """
    if approximate is True:
        approximate = {}
    if approximate is False:
        approximate = None
    if approximate is not None:
        approximate = dict(approximate)
        sample = approximate.pop("sample", 200)
        approximate.pop("compare", None)
    if client is not None:
        from .distributed import knn_rows_dask

        rows = knn_rows_dask(X, k, client, approximate=approximate)
    elif approximate is not None:
        from .approximate import approx_knn_rows

        rows = approx_knn_rows(X, k, **approximate)
    else:
        return jaccard_knn_graph(X, k, device=device, progress=progress, desc=desc)
    if approximate is not None and info is not None and sample:
        import time

        from .approximate import neighbour_recall

        t0 = time.perf_counter()
        info["recall"] = neighbour_recall(X, rows[0], rows[1], k, sample=sample,
                                          seed=approximate.get("seed", 123))
        info["recall_sample"] = sample
        info["recall_s"] = time.perf_counter() - t0  # a check, not part of the build
    return symmetrize_union(*rows, X.shape[0])
