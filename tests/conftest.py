"""Shared test setup: the embedding / KNN-graph cache goes to a temporary directory, never to
the user's ~/.cache/leporid."""

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_embedding_cache(tmp_path_factory):
    old = os.environ.get("LEPORID_CACHE")
    os.environ["LEPORID_CACHE"] = str(tmp_path_factory.mktemp("leporid_cache"))
    yield
    if old is None:
        os.environ.pop("LEPORID_CACHE", None)
    else:
        os.environ["LEPORID_CACHE"] = old
