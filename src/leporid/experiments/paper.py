"""The paper's published numbers (Tables 2–7, Figures 2 and 4), stored as package data.

``paper_numbers.json`` was transcribed by hand from the paper (tests check a sample of cells
against the paper's text). Metrics are fractions (a relative improvement of 9.46% is 0.0946);
``None`` marks a cell the paper leaves empty (node2vec on Anime). Registry names are used for
models and initialisers (``graphbert`` for Graph-Bert); Table 4's rows are ``model/init``;
Table 6's rows are ``loss/branch`` (``both/s`` = L_S + L_G ranked through S).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

METRICS = ("HR@5", "HR@10", "F1@5", "F1@10")


@lru_cache(maxsize=1)
def numbers() -> dict:
    """The whole transcription (a fresh parse is cached; treat it as read-only)."""
    text = resources.files(__package__).joinpath("paper_numbers.json").read_text()
    return json.loads(text)


_NAMES = {"ML-1M": r"(^|[^a-z0-9])(ml-?1m|ml_1m|movielens-?1m)", "Steam": r"steam",
          "Anime": r"anime"}


def paper_dataset(name: str | None) -> str | None:
    """The paper's dataset a dataset name refers to (``ML-1M``, ``Steam``, ``Anime``), if any;
    a registry name says it itself (``steam-australia`` is not the paper's Steam)."""
    from ..data.datasets import DATASETS

    if str(name) in DATASETS:
        return DATASETS[str(name)].paper
    low = str(name or "").lower()
    for key, pat in _NAMES.items():
        if re.search(pat, low):
            return key
    return None


def lookup(table: str, row: str, dataset: str | None, section: str | None = None) -> dict | None:
    """``{metric: value}`` of one row of a paper table on ``dataset`` (None if absent).
    ``section`` is Table 3's model."""
    if dataset is None:
        return None
    t = numbers()[table]
    if section is not None:
        t = t.get(section, {})
    vals = t.get(row, {}).get(dataset)
    return dict(vals) if vals else None
