"""Jaccard K-nearest-neighbour graphs (exact: CPU kernel and a torch/GPU path; approximate:
MinHash LSH re-ranked exactly; distributed: row blocks on a Dask cluster)."""

from .build import knn_graph
from .jaccard import jaccard_knn_graph, knn_rows, symmetrize_union

__all__ = ["jaccard_knn_graph", "knn_graph", "knn_rows", "symmetrize_union"]
