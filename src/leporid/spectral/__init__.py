"""LE / LEPORID Laplacians and their smallest eigenpairs."""

from .eigen import laplacian_residuals, smallest_eigenpairs
from .laplacian import KINDS, laplacian, regularized_degrees
from .result import EigenResult, zscore

__all__ = ["EigenResult", "KINDS", "laplacian", "laplacian_residuals", "regularized_degrees",
           "smallest_eigenpairs", "zscore"]
