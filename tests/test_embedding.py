"""LeporidEmbedding / LaplacianEigenmaps, the initialiser registry and `leporid embed`."""

import json

import numpy as np
import pytest
import scipy.sparse as sp
from test_graph_jaccard import brute_force_knn

from leporid import LaplacianEigenmaps, LeporidEmbedding
from leporid.cli import main
from leporid.data.synthetic import power_law_interactions
from leporid.init import available, initialize
from leporid.spectral import laplacian


@pytest.fixture(scope="module")
def small():
    return power_law_interactions(150, 90, 3000, min_per_user=5, seed=4).to_csr()


@pytest.mark.parametrize("cls,alpha", [(LaplacianEigenmaps, 0.0), (LeporidEmbedding, 0.5)])
def test_embeddings_are_the_smallest_eigenvectors_of_the_brute_force_laplacian(small, cls, alpha):
    est = cls(n_components=6, n_neighbors=10, output="raw").fit(small)
    assert est.alpha == alpha
    for side, X in (("user", small), ("item", small.T.tocsr())):
        _, W = brute_force_knn(X, 10)
        L = laplacian(sp.csr_matrix(W), alpha, "sym").toarray()
        lam, Q = np.linalg.eigh(L)
        np.testing.assert_allclose(getattr(est, f"{side}_eigenvalues_"), lam[:6], atol=1e-6)
        V = getattr(est, f"{side}_embeddings_").astype(np.float64)
        assert V.shape == (X.shape[0], 6)
        assert getattr(est, f"{side}_residuals_").max() < 1e-4
        m = np.searchsorted(lam, lam[5] + 1e-6)
        P = Q[:, :m] @ Q[:, :m].T
        np.testing.assert_allclose(P @ V, V, atol=1e-5)


def test_zscore_output_and_registry(small):
    assert {"random", "le", "leporid"} <= set(available())
    u, i = initialize("leporid", small, dim=8, seed=1, n_neighbors=20)
    assert u.shape == (150, 8) and i.shape == (90, 8) and u.dtype == np.float32
    np.testing.assert_allclose(u.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(u.std(0), 1, atol=1e-4)
    r = LeporidEmbedding(n_components=8, n_neighbors=20, output="raw").fit(small)
    z = (r.user_embeddings_ - r.user_embeddings_.mean(0)) / r.user_embeddings_.std(0)
    np.testing.assert_allclose(u, z, atol=1e-4)
    with pytest.raises(ValueError, match="unknown initialiser"):
        initialize("nope", small)


def test_embed_cli_authors_format_keeps_ids(tmp_path):
    # ids 0..5 users; user 3 and item 4 never occur -> isolated, zero raw rows
    rows = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (2, 1), (2, 2), (4, 0), (4, 2), (5, 1),
            (5, 3), (1, 3), (2, 5), (4, 5), (5, 5), (0, 5)]
    f = tmp_path / "train.txt"
    f.write_text("".join(f"{u} {i} 5 {t}\n" for t, (u, i) in enumerate(rows)))
    out = tmp_path / "emb"
    rc = main(["embed", "--input", str(f), "--format", "authors", "--method", "leporid",
               "--neighbors", "3", "--alpha", "0.5", "--dim", "2", "--raw", "--out", str(out),
               "--device", "cpu"])
    assert rc == 0
    U = np.load(out / "user_embeddings.npy")
    I = np.load(out / "item_embeddings.npy")
    assert U.shape == (6, 2) and I.shape == (6, 2)
    assert np.abs(U[3]).max() == 0 and np.abs(I[4]).max() == 0
    X = sp.csr_matrix((np.ones(len(rows)), tuple(np.array(rows).T)), shape=(6, 6))
    ref = LeporidEmbedding(n_components=2, n_neighbors=3, output="raw").fit(X)
    np.testing.assert_allclose(U, ref.user_embeddings_, atol=1e-6)
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["config"]["n_neighbors"] == 3 and meta["data_fingerprint"]
    assert len(meta["user_eigenvalues"]) == 2 and max(meta["user_residuals"]) < 1e-4
    np.testing.assert_allclose(np.linalg.norm(U, axis=0), 1.0, atol=1e-6)


def test_embed_cli_bundled_dataset(tmp_path):
    out = tmp_path / "e"
    assert main(["embed", "--method", "le", "--neighbors", "50", "--dim", "4", "--out", str(out),
                 "--device", "cpu"]) == 0
    U = np.load(out / "user_embeddings.npy")
    ids = np.load(out / "user_ids.npy")
    assert U.shape == (566, 4) and len(ids) == 566
    # a usage error: exit 2, one line naming the option (no SystemExit, no traceback)
    assert main(["embed", "--method", "le", "--alpha", "0.3", "--out", str(out)]) == 2
