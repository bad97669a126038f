"""Interactions, loaders, k-core filter, chronological split and statistics."""

from .interactions import DataError, Interactions
from .split import PARTS, Split, chronological_parts, deduplicate, kcore, prepare

__all__ = ["DataError", "Interactions", "PARTS", "Split", "chronological_parts", "deduplicate",
           "kcore", "prepare"]
