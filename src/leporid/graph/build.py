"""One entry point for a symmetric Jaccard KNN graph: exact or approximate, one process, a GPU
or a Dask cluster. The heavy back ends are imported only when asked for."""

from __future__ import annotations

import scipy.sparse as sp

from .jaccard import jaccard_knn_graph, symmetrize_union


def knn_graph(X, k: int, *, device: str = "cpu", approximate: dict | bool | None = None,
              client=None, progress: bool = False, desc: str = "jaccard knn") -> sp.csr_matrix:
    """Symmetric (union) Jaccard KNN graph of the rows of binary ``X``.

    ``approximate``: None/False for the exact graph, True or a dict of ``approx_knn_rows``
    parameters for the MinHash-LSH graph. ``client``: a ``dask.distributed.Client`` to build
    it in row blocks on its workers (see ``distributed.py``). ``device`` applies to the exact
    single-process build ("cuda": the torch path).
    """
    if approximate is True:
        approximate = {}
    if approximate is False:
        approximate = None
    if client is not None:
        from .distributed import knn_rows_dask

        rows = knn_rows_dask(X, k, client, approximate=approximate)
    elif approximate is not None:
        from .approximate import approx_knn_rows

        rows = approx_knn_rows(X, k, **approximate)
    else:
        return jaccard_knn_graph(X, k, device=device, progress=progress, desc=desc)
    return symmetrize_union(*rows, X.shape[0])
