"""A 2-D look at user and item embeddings, coloured by popularity (interaction count).

Two panels (users, items); each side is projected on its own by PCA (the two leading
principal components, deterministic) or t-SNE (scikit-learn, seeded, PCA start). Colour is
log10(1 + interaction count), so the low-degree nodes — where LE and LEPORID differ — are the
dark end of the scale. matplotlib (Agg backend) and scikit-learn are imported only here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import DEFAULT_SEED


def project(E: np.ndarray, projection: str = "pca", seed: int = DEFAULT_SEED) -> np.ndarray:
    """(n, 2) coordinates of the rows of ``E``."""
    E = np.asarray(E, np.float64)
    if projection == "pca":
        C = E - E.mean(axis=0)
        _, _, Vt = np.linalg.svd(C, full_matrices=False)
        Y = C @ Vt[:2].T
        return np.hstack([Y, np.zeros((len(E), 2 - Y.shape[1]))]) if Y.shape[1] < 2 else Y
    if projection == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(2.0, (len(E) - 1) / 3)))
        return TSNE(2, init="pca", random_state=seed, perplexity=perplexity).fit_transform(E)
    raise ValueError(f"projection must be pca or tsne, got {projection!r}")


def plot_embeddings(user: np.ndarray, item: np.ndarray, user_counts, item_counts, path,
                    projection: str = "pca", title: str = "", seed: int = DEFAULT_SEED) -> Path:
    """Write the two-panel PNG to ``path`` (atomically) and return the path."""
    from ..results import pyplot, save_figure

    plt = pyplot()

    fig, axes = plt.subplots(1, 2, figsize=(11, 5), constrained_layout=True)
    for ax, name, E, counts in ((axes[0], "users", user, user_counts),
                                (axes[1], "items", item, item_counts)):
        Y = project(E, projection, seed)
        c = np.log10(1.0 + np.asarray(counts, np.float64))
        order = np.argsort(-c, kind="stable")  # low-degree points drawn last (on top)
        sc = ax.scatter(Y[order, 0], Y[order, 1], c=c[order], s=6, cmap="viridis",
                        linewidths=0)
        ax.set_title(f"{name} ({len(E)})")
        ax.set_xlabel(f"{projection.upper()} 1")
        ax.set_ylabel(f"{projection.upper()} 2")
        fig.colorbar(sc, ax=ax, label="log10(1 + interactions)")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)
