"""leporid: LEPORID / LE initialisation, DLR2 and the baselines of Zhang et al., KDD'21."""

__version__ = "0.1.0"
DEFAULT_SEED = 123
