"""LE and LEPORID embeddings: Jaccard KNN graphs (users, items) -> Laplacian eigenvectors.

``SpectralCore`` is the computation; the scikit-learn estimators ``LeporidEmbedding`` /
``LaplacianEigenmaps`` (``spectral_estimators.py``; ``from leporid import LeporidEmbedding``)
add ``BaseEstimator`` to it. The registered initialisers "leporid" and "le" use the core directly,
so ``leporid embed`` never imports scikit-learn (0.55 s of imports: ``sklearn.base`` pulls in
``scipy.stats``).
"""

from __future__ import annotations

import re
import time
from typing import Self

import numpy as np
import scipy.sparse as sp

from .. import DEFAULT_SEED
from ..data.validation import check_choice, check_matrix, check_number
from ..graph import knn_graph
from ..graph.jaccard import warm_up_kernels as graph_kernels
from ..spectral import smallest_eigenpairs, zscore
from ..spectral.eigen import warm_up_kernels as eigen_kernels
from ..utils.device import resolve_device
from .cache import knn_graph as cached_knn_graph
from .registry import positive, register

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


class SpectralCore:
    """Laplacian Eigenmaps (α = 0 unless given) / LEPORID of the user and item Jaccard KNN
    graphs; parameters and fitted attributes as documented on ``LaplacianEigenmaps``."""

    def __init__(self, n_components: int = 64, n_neighbors: int = 1000, alpha: float = 0.0,
                 laplacian: str = "sym", output: str = "zscore", device: str = "cpu",
                 seed: int = DEFAULT_SEED, tol: float = 1e-6, progress: bool = False,
                 approximate: bool | dict = False, scheduler: str | None = None):
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.alpha = alpha
        self.laplacian = laplacian
        self.output = output
        self.device = device
        self.seed = seed
        self.tol = tol
        self.progress = progress
        self.approximate = approximate
        self.scheduler = scheduler

    def _validate(self, X) -> None:
        """Every parameter, and 𝒟 against the matrix, before any graph is built."""
        owner = getattr(self, "_name", type(self).__name__)
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
            raise ValueError(f"{owner}: n_components (the dimension; --dim in the CLI) must be "
                             f"<= {n}, the smaller of {X.shape[0]} users and {X.shape[1]} "
                             f"items; got {self.n_components}")

    def _side(self, X, name, graph=None):
        """``graph``: a started Dask build (``submit_knn_graph``) of this side's graph."""
        device = resolve_device(self.device)
        if device.startswith("cuda") and not self.approximate and graph is None:
            from ..graph.jaccard_torch import dense_fits

            if dense_fits(X.shape[0], X.shape[1], device):
                return self._side_dense_torch(X, name, device)
        t0 = time.perf_counter()
        ginfo: dict = {}
        if graph is not None:
            W = graph(ginfo)
        elif self.approximate:
            W = knn_graph(X, self.n_neighbors, device=device, approximate=self.approximate,
                          progress=self.progress, desc=f"{name} graph", info=ginfo)
        else:  # exact graphs go through the KNN-graph cache when one is active
            W = cached_knn_graph(X, self.n_neighbors, name, device=device,
                                 progress=self.progress, desc=f"{name} graph")
        t1 = time.perf_counter()
        res = smallest_eigenpairs(W, self.n_components, alpha=self.alpha, kind=self.laplacian,
                                  tol=self.tol, seed=self.seed, device=device)
        t2 = time.perf_counter()
        deg = np.diff(W.indptr)
        edges, isolated = int(W.nnz // 2), int((deg == 0).sum())
        out = self._finish(res, edges, isolated, t1 - t0 - ginfo.get("recall_s", 0.0), t2 - t1)
        out[2].update({f"graph_{k}": v for k, v in ginfo.items()})
        if isinstance(self.approximate, dict) and self.approximate.get("compare"):
            out[2].update(self._compare_exact(X, res, device))
        return out

    def _compare_exact(self, X, res, device) -> dict:
        """The exact pipeline on the same side, and the agreement of the approximate
        embedding's first (up to) 32 eigenvectors with it."""
        from ..spectral.result import subspace_agreement

        t0 = time.perf_counter()
        W = knn_graph(X, self.n_neighbors, device=device)
        exact = smallest_eigenpairs(W, self.n_components, alpha=self.alpha, kind=self.laplacian,
                                    tol=self.tol, seed=self.seed, device=device)
        d = min(32, self.n_components)
        mean, worst = subspace_agreement(exact.vectors[:, :d], res.vectors[:, :d])
        return {"exact_seconds": time.perf_counter() - t0, "subspace_dims": d,
                "subspace_cos_mean": mean, "subspace_cos_min": worst}

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

    def fit(self, X, y=None) -> Self:
        """Embed users and items of ``X`` (a Split's train part, Interactions, or a matrix:
        users x items, any non-zero is an interaction). ``y`` is ignored."""
        X = training_matrix(X)
        self._validate(X)
        self.n_features_in_ = X.shape[1]
        self.timings_, self.info_ = {}, {}
        # numba kernels load from cache (or compile once, announced) before anything is timed
        compile_s = graph_kernels() + eigen_kernels()
        if self.approximate:
            from ..graph.approximate import warm_up_kernels as approx_kernels

            compile_s += approx_kernels()
        sides = (("user", X), ("item", X.T.tocsr()))
        if not self.scheduler:
            for name, M in sides:
                self._fit_side(name, M)
        else:
            self._fit_distributed(sides)
        self.timings_["total"] = sum(self.timings_.values())
        if compile_s:
            self.timings_["compile"] = compile_s
        return self

    def _fit_distributed(self, sides) -> None:
        """Both graphs are submitted to the cluster at once, so the workers build the items'
        graph while this process solves the users' eigenproblem; the cluster is closed in the
        background as soon as the last graph is gathered."""
        import threading

        from ..graph.build import submit_knn_graph
        from ..graph.distributed import close, connect

        t0 = time.perf_counter()
        client, cluster = connect(self.scheduler)
        self.timings_["connect"] = time.perf_counter() - t0
        closing = threading.Thread(target=close, args=(client, cluster), daemon=True)
        try:
            graphs = {name: submit_knn_graph(M, self.n_neighbors, client,
                                             approximate=self.approximate or None)
                      for name, M in sides}

            def last_graph(info=None, result=graphs[sides[-1][0]]):
                try:
                    return result(info)
                finally:
                    closing.start()
            graphs[sides[-1][0]] = last_graph
            for name, M in sides:
                self._fit_side(name, M, graphs[name])
        finally:
            if closing.ident is not None:           # started: wait for it
                closing.join()
            else:
                close(client, cluster)

    def _fit_side(self, name, M, graph=None):
        emb, res, info, tg, te = self._side(M, name, graph)
        setattr(self, f"{name}_embeddings_", emb)
        setattr(self, f"{name}_eigenvalues_", res.eigenvalues)
        setattr(self, f"{name}_residuals_", res.residuals)
        self.timings_[f"{name}_graph"] = tg
        self.timings_[f"{name}_eigen"] = te
        self.info_[name] = info

    def fit_transform(self, X, y=None) -> np.ndarray:
        """``fit(X)`` and return the user (row) embeddings."""
        return self.fit(X).user_embeddings_


def _spectral_init(name, train, dim, seed, **params):
    est = SpectralCore(n_components=dim, seed=seed, **params)
    est._name = name                    # in error messages, e.g. "leporid: n_components ..."
    est.fit(train)
    info = {"timings_s": est.timings_, "graphs": est.info_,
            **{f"{side}_{what}": getattr(est, f"{side}_{what}_")
               for side in ("user", "item") for what in ("eigenvalues", "residuals")}}
    return est.user_embeddings_, est.item_embeddings_, info


def _check_spectral(params, dim):
    positive("n_neighbors", "tol")(params, dim)
    if params["laplacian"] not in ("sym", "rw", "unnorm"):
        raise ValueError(f"laplacian must be sym, rw or unnorm, got {params['laplacian']!r}")
    if params["output"] not in ("zscore", "raw"):
        raise ValueError(f"output must be 'zscore' or 'raw', got {params['output']!r}")
    if not 0.0 <= params.get("alpha", 0.0) <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {params['alpha']}")


@register("le", check=_check_spectral)
def le_init(train, dim=64, seed=DEFAULT_SEED, n_neighbors=1000, laplacian="sym", output="zscore",
            device="cpu", tol=1e-6, approximate=None, scheduler=None):
    """Laplacian Eigenmaps (α = 0) of the Jaccard KNN graphs, z-scored columns unless raw."""
    return _spectral_init("le", train, dim, seed, alpha=0.0, n_neighbors=n_neighbors,
                          laplacian=laplacian, output=output, device=device, tol=tol,
                          approximate=False if approximate is None else approximate,
                          scheduler=scheduler)


@register("leporid", check=_check_spectral)
def leporid_init(train, dim=64, seed=DEFAULT_SEED, n_neighbors=1000, alpha=0.5, laplacian="sym",
                 output="zscore", device="cpu", tol=1e-6, approximate=None, scheduler=None):
    """LEPORID (popularity-regularised LE, α = 0.5) of the Jaccard KNN graphs."""
    return _spectral_init("leporid", train, dim, seed, n_neighbors=n_neighbors,
                          alpha=alpha, laplacian=laplacian, output=output, device=device, tol=tol,
                          approximate=False if approximate is None else approximate,
                          scheduler=scheduler)

