"""leporid: LEPORID / LE initialisation, DLR2 and the baselines of Zhang et al., KDD'21."""

__version__ = "0.1.0"
DEFAULT_SEED = 123


def __getattr__(name):  # lazy: `import leporid` stays light
    if name in ("LeporidEmbedding", "LaplacianEigenmaps"):
        from .init import spectral_init
        return getattr(spectral_init, name)
    raise AttributeError(f"module 'leporid' has no attribute {name!r}")
