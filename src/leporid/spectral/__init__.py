"""LE / LEPORID Laplacians and their smallest eigenpairs."""

from .eigen import laplacian_residuals, smallest_eigenpairs
from .result import EigenResult, zscore
from .laplacian import KINDS, laplacian, regularized_degrees

__all__ = ["EigenResult", "KINDS", "laplacian", "laplacian_residuals", "regularized_degrees",
           "smallest_eigenpairs", "zscore"]
