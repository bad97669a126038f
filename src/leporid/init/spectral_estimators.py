"""``LeporidEmbedding`` / ``LaplacianEigenmaps``: the LE / LEPORID computation
(``spectral_init.SpectralCore``) as scikit-learn estimators.

``BaseEstimator`` gives ``clone``, ``get_params`` / ``set_params`` and the repr; ``fit(X,
y=None)``; ``fit_transform`` returns the user embeddings, as ``sklearn.manifold.
SpectralEmbedding`` returns the sample embeddings — there is no out-of-sample ``transform``.
Rows of ``X`` are users (samples), columns items (features). Parameters are validated in
``fit`` (scikit-learn's rule: ``__init__`` only stores them), before any graph is built. The
initialiser registry's "leporid" and "le" run the same core without scikit-learn.
"""

from __future__ import annotations

from sklearn.base import BaseEstimator

from .. import DEFAULT_SEED
from .spectral_init import SpectralCore


class LaplacianEigenmaps(SpectralCore, BaseEstimator):
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
    approximate : False (exact graphs), True or a dict of ``graph.approximate.approx_knn_rows``
        parameters (MinHash-LSH graphs re-ranked by exact Jaccard, for very large inputs).
    scheduler : None (this process), ``"local:N"`` (a local Dask cluster of N workers) or a
        Dask scheduler address ``"tcp://HOST:PORT"``: where the graphs are built.

    After ``fit``: ``user_embeddings_``, ``item_embeddings_`` (float32), ``user_eigenvalues_``,
    ``item_eigenvalues_``, ``user_residuals_``, ``item_residuals_``, ``timings_`` (seconds),
    ``info_`` (graph sizes and solver details).
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True          # CSR/CSC/COO matrices are the natural input
        return tags


class LeporidEmbedding(LaplacianEigenmaps):
    """LEPORID: Laplacian Eigenmaps with popularity-based regularisation (α = 0.5 default)."""

    def __init__(self, n_components: int = 64, n_neighbors: int = 1000, alpha: float = 0.5,
                 laplacian: str = "sym", output: str = "zscore", device: str = "cpu",
                 seed: int = DEFAULT_SEED, tol: float = 1e-6, progress: bool = False,
                 approximate: bool | dict = False, scheduler: str | None = None):
        super().__init__(n_components=n_components, n_neighbors=n_neighbors, alpha=alpha,
                         laplacian=laplacian, output=output, device=device, seed=seed, tol=tol,
                         progress=progress, approximate=approximate, scheduler=scheduler)
