"""Interactions, loaders, k-core filter, chronological split and statistics."""

from .formats import FORMATS, Format, detect_format
from .interactions import DataError, Interactions
from .loaders import BUNDLED, load
from .split import (
                    PARTS,
                    PROTOCOLS,
                    Split,
                    authors_protocol,
                    chronological_parts,
                    deduplicate,
                    kcore,
                    prepare,
)
from .split_io import is_saved_split, load_split, save_split
from .stats import dataset_statistics, format_statistics, tail_indices

__all__ = ["BUNDLED", "DataError", "FORMATS", "Format", "Interactions", "PARTS", "PROTOCOLS",
           "Split", "authors_protocol", "chronological_parts", "dataset_statistics",
           "deduplicate", "detect_format", "format_statistics", "is_saved_split", "kcore", "load",
           "load_split", "prepare", "save_split", "tail_indices"]
