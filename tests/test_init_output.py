"""Which LE / LEPORID output form each neural model is seeded with (``init_params_for``)."""

import numpy as np
import pytest

pytest.importorskip("torch")

from leporid.models import model_class  # noqa: E402
from leporid.models.embedding import init_params_for  # noqa: E402


@pytest.mark.parametrize("name", ["bpr", "ncf", "ngcf", "lightgcn", "dgcf", "hgn"])
def test_dot_product_models_get_raw_eigenvectors(name):
    assert init_params_for(model_class(name), "leporid", {"alpha": 0.3}) == {
        "alpha": 0.3, "output": "raw"}
    assert init_params_for(model_class(name), "le", None)["output"] == "raw"


def test_dlr2_keeps_the_authors_zscored_columns():
    assert init_params_for(model_class("dlr2"), "leporid", {}) == {"output": "zscore"}


def test_explicit_choice_non_spectral_schemes_and_arrays_untouched():
    cls = model_class("ngcf")
    given = {"output": "zscore"}
    assert init_params_for(cls, "leporid", given) == {"output": "zscore"}
    assert given == {"output": "zscore"}                      # caller's dict not modified
    assert init_params_for(cls, "svd", {}) == {}               # no output parameter
    arrays = (np.zeros((2, 3)), np.zeros((4, 3)))
    assert init_params_for(cls, arrays, {"x": 1}) == {"x": 1}
