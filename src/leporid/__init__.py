"""leporid: LEPORID / LE initialisation, DLR2 and the baselines of Zhang et al., KDD'21."""

__version__ = "0.1.0"
DEFAULT_SEED = 123


# The top-level package, ``results.py`` and ``__main__`` are utilities outside the layer order
# (tests/test_layering.py): every layer may use ``results`` (atomic writes, provenance) and the
# constants here; the lazy attributes below import their layer only when asked for.


def __getattr__(name):  # lazy: `import leporid` stays light
    if name in ("LeporidEmbedding", "LaplacianEigenmaps"):
        from .init import spectral_estimators
        return getattr(spectral_estimators, name)
    if name in ("seed_embeddings", "seed_embedding"):
        from .models import embedding
        return getattr(embedding, name)
    raise AttributeError(f"module 'leporid' has no attribute {name!r}")
