"""DLR²'s own options (architecture, losses, ranking, speed) and their choices, torch-free.

``leporid.models.dlr2`` builds the model from a :class:`DLR2Config`; the command line reads
the choices here (``ARCHS``, ``LOSSES``, ``G_DISTANCES``, ``SCORE_WITH``, ``G_METRICS``,
``BF16_CHOICES``) without importing torch. The training settings (dimension, learning rate,
epochs, patience, seed, ...) are not repeated here: they are the model's
``leporid.models.training.TrainingConfig`` (DLR²'s defaults in ``leporid.models.registry``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

#: feature networks (paper Table 7)
ARCHS = ("resnet", "revnet", "onlyconv", "noconv")
#: training losses: L_S + L_G, or one alone (paper Table 6)
LOSSES = ("both", "s", "g")
#: distance inside L_G: Euclidean (paper) or mean squared difference (authors' code)
G_DISTANCES = ("euclidean", "squared")
#: rank items with S or with G
SCORE_WITH = ("s", "g")
#: distance to G(s) when ranking with G: Euclidean, or L1 (authors' code)
G_METRICS = ("euclidean", "l1")
#: ``--bf16`` choice -> ``DLR2Config.bf16``
BF16_CHOICES = {"auto": None, "on": True, "off": False}


@dataclass
class DLR2Config:
    """DLR²'s own options (all JSON-serialisable); see ``leporid.models.dlr2``."""

    # architecture
    seq_len: int = 5
    arch: str = "resnet"
    # losses
    loss: str = "both"
    margin_s: float = 0.5                # authors' code; the paper's 0 collapses (dlr2.py)
    margin_g: float = 0.5
    g_distance: str = "euclidean"        # or "squared" (mean squared difference, authors' code)
    # ranking
    score_with: str = "s"                # or "g"
    g_metric: str = "euclidean"          # or "l1" (authors' code)
    # speed
    bf16: bool | None = None             # bfloat16 autocast in the feature network; None = auto
                                         # (on when the device is a CPU with native bf16)
    channels_last: bool = True           # NHWC convolutions (faster with oneDNN and cuDNN)

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise ValueError(f"unknown arch {self.arch!r}; choose from {ARCHS}")
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; choose from {LOSSES}")
        if self.g_distance not in G_DISTANCES:
            raise ValueError("g_distance must be 'euclidean' or 'squared', got "
                             f"{self.g_distance!r}")
        if self.score_with not in SCORE_WITH:
            raise ValueError(f"score_with must be 's' or 'g', got {self.score_with!r}")
        if self.g_metric not in G_METRICS:
            raise ValueError(f"g_metric must be 'euclidean' or 'l1', got {self.g_metric!r}")
        if self.seq_len < 1:
            raise ValueError(f"seq_len must be >= 1, got {self.seq_len}")

    @classmethod
    def from_dict(cls, d: dict) -> DLR2Config:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown DLR2 option(s) {unknown}; known: {sorted(known)}")
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)
