"""LE and LEPORID embeddings: Jaccard KNN graphs (users, items) -> Laplacian eigenvectors.

``LeporidEmbedding`` / ``LaplacianEigenmaps`` are scikit-learn estimators (``BaseEstimator``:
``clone``, ``get_params`` / ``set_params``; ``fit(X, y=None)``; ``fit_transform`` returns the user
embeddings, as ``sklearn.manifold.SpectralEmbedding`` returns the sample embeddings — there is no
out-of-sample ``transform``). Rows of ``X`` are users (samples), columns items (features).
Parameters are validated in ``fit`` (scikit-learn's rule: ``__init__`` only stores them), before
any graph is built. They are registered in the initialiser registry as "leporid" and "le".
"""

from __future__ import annotations

import re
import time

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from ..data.validation import check_choice, check_matrix, check_number
from ..graph import jaccard_knn_graph
from ..graph.jaccard import resolve_device
from ..spectral import smallest_eigenpairs, zscore
from . import register


LAPLACIANS = ("sym", "rw", "unnorm")
OUTPUTS = ("zscore", "raw")


def training_matrix(data) -> sp.csr_matrix:
    """Binary user x item matrix of a ``Split`` (its train part), ``Interactions`` (all rows),
    or any sparse/dense matrix (validated copy: see ``leporid.data.validation.check_matrix``)."""
    from ..data import Interactions, Split

    if isinstance(data, Split):
        return data.train
    if isinstance(data, Interactions):
        return data.to_csr()
    return check_matrix(data, "the interaction matrix")


class LaplacianEigenmaps(BaseEstimator):
    """Laplacian Eigenmaps of the user and item Jaccard KNN graphs (α = 0 unless given).

    Parameters
    ----------
    n_components : embedding dimension 𝒟 (the eigenvectors of the 𝒟 smallest eigenvalues).
    n_neighbors : K of the KNN graphs (paper: 1000).
    alpha : popularity regularisation (0 = LE; LEPORID's default 0.5).
    laplacian : "sym" (paper), "rw" or "unnorm".
    output : "zscore" (columns standardised, as the authors feed the model) or "raw"
        (unit eigenvectors, ascending eigenvalue order).
    device : "cpu", "cuda" or "auto" (graph and eigensolver on a GPU when present).

    After ``fit``: ``user_embeddings_``, ``item_embeddings_`` (float32), ``user_eigenvalues_``,
    ``item_eigenvalues_``, ``user_residuals_``, ``item_residuals_``, ``timings_`` (seconds),
    ``info_`` (graph sizes and solver details).
    """

    def __init__(self, n_components: int = 64, n_neighbors: int = 1000, alpha: float = 0.0,
                 laplacian: str = "sym", output: str = "zscore", device: str = "cpu",
                 seed: int = 123, tol: float = 1e-6, progress: bool = False):
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.alpha = alpha
        self.laplacian = laplacian
        self.output = output
        self.device = device
        self.seed = seed
        self.tol = tol
        self.progress = progress

    def _validate(self, X) -> None:
        """Every parameter, and 𝒟 against the matrix, before any graph is built."""
        owner = type(self).__name__
        check_number(self.n_components, "n_components", low=1, integer=True, owner=owner)
        check_number(self.n_neighbors, "n_neighbors", low=1, integer=True, owner=owner)
        check_number(self.alpha, "alpha", low=0, high=1, owner=owner)
        check_number(self.tol, "tol", low=0, low_open=True, owner=owner)
        check_number(self.seed, "seed", low=0, integer=True, owner=owner)
        check_choice(self.laplacian, "laplacian", LAPLACIANS, owner)
        check_choice(self.output, "output", OUTPUTS, owner)
        if not (isinstance(self.device, str) and re.fullmatch(r"auto|cpu|cuda(:\d+)?",
                                                               self.device)):
            raise ValueError(f"{owner}: device must be one of auto, cpu, cuda, cuda:N; "
                             f"got {self.device!r}")
        n = min(X.shape)
        if self.n_components > n:
            raise ValueError(f"{owner}: n_components (the dimension; --dim in the CLI) must be <= {n}, the smaller of "
                             f"{X.shape[0]} users and {X.shape[1]} items; got {self.n_components}")

    def _side(self, X, name):
        device = resolve_device(self.device)
        if device.startswith("cuda"):
            from ..graph.jaccard_torch import dense_fits

            if dense_fits(X.shape[0], X.shape[1], device):
                return self._side_dense_torch(X, name, device)
        t0 = time.perf_counter()
        W = jaccard_knn_graph(X, self.n_neighbors, device=device, progress=self.progress,
                              desc=f"{name} graph")
        t1 = time.perf_counter()
        res = smallest_eigenpairs(W, self.n_components, alpha=self.alpha, kind=self.laplacian,
                                  tol=self.tol, seed=self.seed, device=device)
        t2 = time.perf_counter()
        deg = np.diff(W.indptr)
        edges, isolated = int(W.nnz // 2), int((deg == 0).sum())
        return self._finish(res, edges, isolated, t1 - t0, t2 - t1)

    def _side_dense_torch(self, X, name, device):
        """GPU: graph, eigensolver and residuals on one dense float64 tensor on the device."""
        import torch

        from ..graph.jaccard_torch import knn_graph_dense_torch
        from ..spectral.eigen_dense_torch import smallest_eigenpairs_dense_torch

        t0 = time.perf_counter()
        Wt = knn_graph_dense_torch(X, self.n_neighbors, device)
        torch.cuda.synchronize(device)
        t1 = time.perf_counter()
        res = smallest_eigenpairs_dense_torch(Wt, self.n_components, alpha=self.alpha,
                                              kind=self.laplacian, tol=self.tol, seed=self.seed)
        t2 = time.perf_counter()
        nz = (Wt != 0).sum(dim=1)
        edges, isolated = int(nz.sum()) // 2, int((nz == 0).sum())
        del Wt
        torch.cuda.empty_cache()
        return self._finish(res, edges, isolated, t1 - t0, t2 - t1)

    def _finish(self, res, edges, isolated, t_graph, t_eigen):
        emb = res.vectors if self.output == "raw" else zscore(res.vectors)
        info = {"nodes": res.vectors.shape[0], "edges": edges, "isolated": isolated,
                **{f"eigen_{k}": v for k, v in res.info.items()}}
        return emb.astype(np.float32), res, info, t_graph, t_eigen

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True          # CSR/CSC/COO matrices are the natural input
        return tags

    def fit(self, X, y=None) -> "LaplacianEigenmaps":
        """Embed users and items of ``X`` (a Split's train part, Interactions, or a matrix:
        users x items, any non-zero is an interaction). ``y`` is ignored."""
        X = training_matrix(X)
        self._validate(X)
        self.n_features_in_ = X.shape[1]
        self.timings_, self.info_ = {}, {}
        for name, M in (("user", X), ("item", X.T.tocsr())):
            emb, res, info, tg, te = self._side(M, name)
            setattr(self, f"{name}_embeddings_", emb)
            setattr(self, f"{name}_eigenvalues_", res.eigenvalues)
            setattr(self, f"{name}_residuals_", res.residuals)
            self.timings_[f"{name}_graph"] = tg
            self.timings_[f"{name}_eigen"] = te
            self.info_[name] = info
        self.timings_["total"] = sum(self.timings_.values())
        return self

    def fit_transform(self, X, y=None) -> np.ndarray:
        """``fit(X)`` and return the user (row) embeddings."""
        return self.fit(X).user_embeddings_


class LeporidEmbedding(LaplacianEigenmaps):
    """LEPORID: Laplacian Eigenmaps with popularity-based regularisation (α = 0.5 default)."""

    def __init__(self, n_components: int = 64, n_neighbors: int = 1000, alpha: float = 0.5,
                 laplacian: str = "sym", output: str = "zscore", device: str = "cpu",
                 seed: int = 123, tol: float = 1e-6, progress: bool = False):
        super().__init__(n_components=n_components, n_neighbors=n_neighbors, alpha=alpha,
                         laplacian=laplacian, output=output, device=device, seed=seed, tol=tol,
                         progress=progress)


def _spectral_init(cls, train, dim, seed, **params):
    est = cls(n_components=dim, seed=seed, **params).fit(train)
    return est.user_embeddings_, est.item_embeddings_


@register("le")
def le_init(train, dim=64, seed=123, **params):
    """Laplacian Eigenmaps (α = 0), z-scored columns unless ``output="raw"``."""
    return _spectral_init(LaplacianEigenmaps, train, dim, seed, **params)


@register("leporid")
def leporid_init(train, dim=64, seed=123, **params):
    """LEPORID (α = 0.5 unless given), z-scored columns unless ``output="raw"``."""
    return _spectral_init(LeporidEmbedding, train, dim, seed, **params)
