"""Jaccard K-nearest-neighbour graphs (exact; CPU kernel and a torch/GPU path)."""

from .jaccard import jaccard_knn_graph, knn_rows, symmetrize_union

__all__ = ["jaccard_knn_graph", "knn_rows", "symmetrize_union"]
