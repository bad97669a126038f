"""``leporid data fetch/list`` and datasets by name, against a local HTTP server (no internet).

The server (stdlib ``http.server`` in a thread on 127.0.0.1) serves archives the tests build in
the publishers' layouts from invented rows, reached through ``--mirror``; ``/MODE/...`` picks
how it misbehaves: ``good``, ``truncated`` (announces the full length, sends half, closes),
``drop`` (closes without answering), ``flaky`` (drops the first request of each path), ``slow``
(sends in small pieces with pauses) and anything else is a 404.
"""

import gzip
import hashlib
import io
import json
import threading
import time
import zipfile
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from leporid.cli import main
from leporid.data import datasets as registry
from leporid.data.datasets import DATASETS
from leporid.data.fetch import TRUSTED, data_dir, installed, locate
from leporid.data.loaders import load_dataset

# invented MovieLens-1M-layout rows: 3 users, 4 movies (never real MovieLens data)
ML1M_ROWS = [(1, 10, 5, 100), (1, 20, 3, 101), (1, 30, 4, 102), (2, 10, 2, 200),
             (2, 40, 1, 201), (3, 20, 4, 300), (3, 30, 5, 301), (3, 40, 3, 302)]


def _zip(files: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


def ml1m_zip(rows=ML1M_ROWS) -> bytes:
    ratings = "".join(f"{u}::{i}::{r}::{t}\n" for u, i, r, t in rows)
    return _zip({"ml-1m/ratings.dat": ratings, "ml-1m/README": "invented test rows\n"})


class Server:
    """Files by URL path; ``hits`` counts the requests of each path."""

    def __init__(self):
        self.files, self.hits = {}, {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):                                   # noqa: N802
                mode, _, path = self.path.lstrip("/").partition("/")
                key = "/" + path
                server.hits[key] = server.hits.get(key, 0) + 1
                body = server.files.get(key)
                if body is None or mode not in ("good", "truncated", "drop", "flaky", "slow"):
                    self.send_error(404)
                    return
                if mode == "drop" or (mode == "flaky" and server.hits[key] == 1):
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mode == "truncated":
                    self.wfile.write(body[:len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                elif mode == "slow":
                    for k in range(0, len(body), max(1, len(body) // 8)):
                        self.wfile.write(body[k:k + max(1, len(body) // 8)])
                        self.wfile.flush()
                        time.sleep(0.15)
                else:
                    self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, mode="good") -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}/{mode}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A fresh data directory, no retries (fast failures), no mirror from the environment."""
    monkeypatch.setenv("LEPORID_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("LEPORID_DATA_RETRIES", "0")
    monkeypatch.delenv("LEPORID_DATA_MIRROR", raising=False)
    return tmp_path / "data"


def _record(monkeypatch, name, **changes):
    """Point registry record ``name`` at test data (e.g. the fixture's checksum)."""
    monkeypatch.setitem(DATASETS, name, replace(DATASETS[name], **changes))
    return DATASETS[name]


ML1M_PATH = "/datasets/movielens/ml-1m.zip"


@pytest.fixture
def ml1m(server, env, monkeypatch):
    body = ml1m_zip()
    server.files[ML1M_PATH] = body
    _record(monkeypatch, "ml-1m", checksum="md5:" + hashlib.md5(body).hexdigest())
    return body


def _run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def _error_line(err: str) -> str:
    """The one error line (a progress line before it is allowed); no traceback."""
    assert "Traceback" not in err
    lines = [x for x in err.strip().splitlines() if "error:" in x]
    assert len(lines) == 1, err
    return lines[0]


def _nothing_installed(root: Path, name: str):
    assert installed(name) is None
    assert not (root / name).exists()
    assert not list(root.glob(f".{name}.partial-*"))


# ------------------------------------------------------------------------------------------
def test_good_archive_installs_and_loads_by_name(ml1m, server, env, capsys):
    rc, out, err = _run(capsys, "data", "fetch", "ml-1m", "--mirror", server.url())
    assert rc == 0, err
    assert server.hits[ML1M_PATH] == 1
    info = installed("ml-1m")
    assert info["sha256"] == hashlib.sha256(ml1m).hexdigest()
    assert (env / "ml-1m" / "ratings.dat").is_file()
    inter, protocol = load_dataset("ml-1m")
    assert protocol == "authors"                      # the paper's protocol for ML-1M
    assert inter.name == "ml-1m" and len(inter) == len(ML1M_ROWS)
    assert sorted(inter.user_ids.tolist()) == [1, 2, 3]
    assert sorted(inter.item_ids.tolist()) == [10, 20, 30, 40]
    from leporid.data import load

    assert load("ml-1m").fingerprint() == inter.fingerprint()   # the library takes names too
    # every command reads it by name; the protocol shown is the name's default
    rc, out, err = _run(capsys, "data", "stats", "--dataset", "ml-1m", "--json")
    assert rc == 0, err
    stats = json.loads(out)
    assert stats["loaded"]["interactions"] == len(ML1M_ROWS)
    assert stats["prepared"]["report"]["protocol"] == "authors"
    rc, out, err = _run(capsys, "data", "stats", "--dataset", "ml-1m", "--json",
                        "--protocol", "kcore", "--min-count", "1")
    assert json.loads(out)["prepared"]["report"]["protocol"] == "kcore"   # overridable


def test_second_fetch_is_a_no_op(ml1m, server, env, capsys):
    assert _run(capsys, "data", "fetch", "ml-1m", "--mirror", server.url())[0] == 0
    stamp = (env / "ml-1m" / "leporid-dataset.json").stat().st_mtime_ns
    rc, out, _ = _run(capsys, "data", "fetch", "ml-1m", "--mirror", server.url())
    assert rc == 0 and "already fetched" in out
    assert server.hits[ML1M_PATH] == 1
    assert (env / "ml-1m" / "leporid-dataset.json").stat().st_mtime_ns == stamp
    rc, out, _ = _run(capsys, "data", "fetch", "ml-1m", "--mirror", server.url(), "--force")
    assert rc == 0 and server.hits[ML1M_PATH] == 2


def test_wrong_checksum_stops_with_both_hashes_and_installs_nothing(server, env, monkeypatch,
                                                                   capsys):
    body = ml1m_zip()
    server.files[ML1M_PATH] = body
    _record(monkeypatch, "ml-1m", checksum="md5:" + "0" * 32)
    rc, _, err = _run(capsys, "data", "fetch", "ml-1m", "--mirror", server.url())
    line = _error_line(err)
    assert rc == 1
    assert "checksum mismatch" in line and "0" * 32 in line
    assert hashlib.md5(body).hexdigest() in line
    _nothing_installed(env, "ml-1m")


@pytest.mark.parametrize("mode, says", [("truncated", "broke off"), ("missing", "HTTP 404"),
                                        ("drop", "connection was dropped")])
def test_network_failures_give_one_line_and_install_nothing(ml1m, server, env, capsys, mode,
                                                            says):
    rc, _, err = _run(capsys, "data", "fetch", "ml-1m", "--mirror", server.url(mode))
    assert rc == 1
    assert says in _error_line(err)
    _nothing_installed(env, "ml-1m")


def test_truncated_body_without_a_length_is_caught_by_the_checksum(server, env, monkeypatch,
                                                                   capsys):
    body = ml1m_zip()
    server.files[ML1M_PATH] = body[:len(body) // 2]     # served whole: only the hash can tell
    _record(monkeypatch, "ml-1m", checksum="md5:" + hashlib.md5(body).hexdigest())
    rc, _, err = _run(capsys, "data", "fetch", "ml-1m", "--mirror", server.url())
    assert rc == 1 and "checksum mismatch" in _error_line(err)
    _nothing_installed(env, "ml-1m")


def test_retries_recover_a_dropped_connection(ml1m, server, env, monkeypatch, capsys):
    monkeypatch.setenv("LEPORID_DATA_RETRIES", "1")
    rc, _, err = _run(capsys, "data", "fetch", "ml-1m", "--mirror", server.url("flaky"))
    assert rc == 0, err
    assert server.hits[ML1M_PATH] == 2 and installed("ml-1m") is not None


def test_from_file_good_and_bad(ml1m, env, tmp_path, capsys):
    bad = tmp_path / "ml-1m-bad.zip"
    bad.write_bytes(ml1m_zip(ML1M_ROWS[:-1]))
    rc, _, err = _run(capsys, "data", "fetch", "ml-1m", "--from", str(bad))
    assert rc == 1 and "checksum mismatch" in _error_line(err)
    _nothing_installed(env, "ml-1m")
    rc, _, err = _run(capsys, "data", "fetch", "ml-1m", "--from", str(tmp_path / "absent.zip"))
    assert rc == 1 and "no such file" in _error_line(err)
    good = tmp_path / "download.zip"
    good.write_bytes(ml1m)
    rc, out, err = _run(capsys, "data", "fetch", "ml-1m", "--from", str(good))
    assert rc == 0, err
    assert installed("ml-1m")["source"] == "--from download.zip"
    assert len(load_dataset("ml-1m")[0]) == len(ML1M_ROWS)


def test_login_dataset_says_where_and_installs_from_a_file_trusted_on_first_use(env, tmp_path,
                                                                               capsys):
    rc, _, err = _run(capsys, "data", "fetch", "anime")
    line = _error_line(err)
    assert rc == 1 and "kaggle.com" in line and "--from" in line
    rating = "user_id,anime_id,rating\n1,20,-1\n1,24,9\n2,20,7\n3,79,-1\n"
    kaggle = tmp_path / "anime-recommendations-database.zip"   # as Kaggle hands it out
    kaggle.write_bytes(_zip({"anime.csv": "anime_id,name\n20,x\n", "rating.csv": rating}))
    rc, _, err = _run(capsys, "data", "fetch", "anime", "--from", str(kaggle))
    assert rc == 0, err
    sha = hashlib.sha256(rating.encode()).hexdigest()          # of rating.csv itself
    assert f"anime sha256:{sha}" in (env / TRUSTED).read_text()
    inter, protocol = load_dataset("anime")
    assert inter.name == "anime" and len(inter) == 4 and protocol == "kcore"
    # the same rating.csv, unzipped, is accepted; a different one is refused
    plain = tmp_path / "rating.csv"
    plain.write_text(rating)
    assert _run(capsys, "data", "fetch", "anime", "--from", str(plain), "--force")[0] == 0
    plain.write_text(rating + "4,20,5\n")
    rc, _, err = _run(capsys, "data", "fetch", "anime", "--from", str(plain), "--force")
    assert rc == 1 and "checksum mismatch" in _error_line(err) and sha in err
    assert len(load_dataset("anime")[0]) == 4                  # the verified copy is kept


def test_trust_on_first_use_gz_download_and_a_changed_file(server, env, capsys):
    rec = DATASETS["steam-australia"]
    lines = ("{'user_id': 'a', 'items': [{'item_id': '10'}, {'item_id': '20'}]}\n"
             "{'user_id': 'b', 'items': [{'item_id': '20'}]}\n")
    path = "/public_datasets/data/steam/" + rec.download
    server.files[path] = gzip.compress(lines.encode())
    rc, _, err = _run(capsys, "data", "fetch", rec.name, "--mirror", server.url())
    assert rc == 0, err
    assert installed(rec.name)["file"] == "australian_users_items.json"
    assert f"{rec.name} sha256:" in (env / TRUSTED).read_text()
    assert len(load_dataset(rec.name)[0]) == 3
    rc, out, _ = _run(capsys, "data", "list")
    assert "recorded " + installed(rec.name)["sha256"] in out
    server.files[path] = gzip.compress(lines.replace("'20'", "'30'").encode())
    rc, _, err = _run(capsys, "data", "fetch", rec.name, "--mirror", server.url(), "--force")
    assert rc == 1 and "recorded at the first fetch" in _error_line(err)
    assert len(load_dataset(rec.name)[0]) == 3                 # the first copy is intact


def test_damaged_archive_with_a_trusted_first_use_is_refused(server, env, capsys):
    rec = DATASETS["steam-australia"]
    server.files["/public_datasets/data/steam/" + rec.download] = b"\x1f\x8b\x08garbage"
    rc, _, err = _run(capsys, "data", "fetch", rec.name, "--mirror", server.url())
    assert rc == 1 and "damaged" in _error_line(err)
    _nothing_installed(env, rec.name)
    assert not (env / TRUSTED).exists()                         # nothing trusted either


def test_a_name_not_fetched_names_the_fetch_command_and_download_fetches_it(
        ml1m, server, env, monkeypatch, capsys):
    rc, _, err = _run(capsys, "data", "stats", "--dataset", "ml-1m")
    assert rc == 1 and "`leporid data fetch ml-1m`" in _error_line(err)
    from leporid.data import load

    with pytest.raises(Exception, match="leporid data fetch ml-1m"):
        load("ml-1m")
    with pytest.raises(Exception, match="not a dataset name"):
        load("ml-2m")
    monkeypatch.setenv("LEPORID_DATA_MIRROR", server.url())
    rc, out, err = _run(capsys, "data", "stats", "--dataset", "ml-1m", "--download")
    assert rc == 0, err
    assert "authors' protocol" in out and installed("ml-1m") is not None


def test_an_interrupted_fetch_is_never_taken_for_complete(ml1m, server, env, capsys):
    (env / "ml-1m").mkdir(parents=True)               # a folder without its description
    (env / "ml-1m" / "ratings.dat").write_text("1::10::5::100\n")
    (env / ".ml-1m.partial-x").mkdir()                 # a killed fetch's leftovers
    with pytest.raises(Exception, match="not fetched yet"):
        locate("ml-1m")
    assert _run(capsys, "data", "fetch", "ml-1m", "--mirror", server.url())[0] == 0
    assert len(load_dataset("ml-1m")[0]) == len(ML1M_ROWS)
    assert not list(env.glob(".ml-1m.partial-*"))


def test_two_fetches_at_once_download_once(ml1m, server, env):
    from leporid.data.fetch import fetch

    logs, results = {"a": [], "b": []}, {}

    def run(key):
        results[key] = fetch("ml-1m", mirror=server.url("slow"), log=logs[key].append)

    first = threading.Thread(target=run, args=("a",))
    first.start()
    deadline = time.time() + 10
    while not server.hits.get(ML1M_PATH) and time.time() < deadline:   # A is downloading
        time.sleep(0.01)
    second = threading.Thread(target=run, args=("b",))
    second.start()
    first.join(30)
    second.join(30)
    assert any("another fetch of it is running" in m for m in logs["b"]), logs
    assert results["a"][1] is True and results["b"][1] is False       # B found it installed
    assert server.hits[ML1M_PATH] == 1
    assert len(load_dataset("ml-1m")[0]) == len(ML1M_ROWS)


def test_unknown_name_lists_the_known_ones(env, capsys):
    rc, _, err = _run(capsys, "data", "fetch", "ml-2m")
    line = _error_line(err)
    assert rc == 1 and "unknown dataset 'ml-2m'" in line
    assert all(name in line for name in DATASETS)


def test_usage_errors_exit_2(env, monkeypatch, capsys):
    assert _run(capsys, "data", "fetch")[0] == 2
    assert _run(capsys, "data", "fetch", "ml-1m", "--bogus")[0] == 2
    rc, _, err = _run(capsys, "data", "fetch", "ml-1m", "--mirror", "/srv/mirror")
    assert rc == 2 and "expected an http://" in _error_line(err)
    monkeypatch.setenv("LEPORID_DATA_RETRIES", "many")
    rc, _, err = _run(capsys, "data", "fetch", "ml-1m")
    assert rc == 2 and "LEPORID_DATA_RETRIES" in _error_line(err)
    _nothing_installed(env, "ml-1m")


def test_a_registry_name_takes_no_format(ml1m, server, env, capsys):
    assert _run(capsys, "data", "fetch", "ml-1m", "--mirror", server.url())[0] == 0
    rc, _, err = _run(capsys, "data", "stats", "--dataset", "ml-1m", "--format", "csv")
    assert rc == 1 and "takes no --format" in _error_line(err)


def test_list_says_what_is_fetched_and_where(ml1m, server, env, capsys):
    rc, out, _ = _run(capsys, "data", "list")
    assert rc == 0 and str(env) in out
    assert out.count("not fetched") == len(DATASETS) - 1        # all but the bundled one
    assert "trust on first use" in out
    _run(capsys, "data", "fetch", "ml-1m", "--mirror", server.url())
    rc, out, _ = _run(capsys, "data", "list", "--json")
    by_name = {r["name"]: r for r in json.loads(out)}
    assert by_name["ml-1m"]["where"] == str(env / "ml-1m" / "ratings.dat")
    assert by_name["ml-1m"]["protocol"] == "authors"
    assert by_name["ml-100k"]["where"] == "not fetched"


def test_data_dir_default_is_a_user_cache_folder(monkeypatch):
    monkeypatch.delenv("LEPORID_DATA", raising=False)
    assert "leporid" in str(data_dir())


# ------------------------------------------------------------------------------------------
# the registry's records
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rec", DATASETS.values(), ids=list(DATASETS))
def test_every_record_is_complete(rec):
    from leporid.data import FORMATS

    assert rec.title and rec.size and rec.licence and rec.citation and rec.preparation
    assert rec.format in FORMATS, f"{rec.name}: no format record {rec.format!r}"
    assert rec.protocol in ("kcore", "authors")
    assert rec.page.startswith("https://")
    if rec.bundled:
        return
    if rec.login:                                     # by hand: the page says where
        assert rec.download is None
    else:
        assert rec.download and all(u.startswith(("https://", "http://")) for u in rec.urls)
        assert all(u.rsplit("/", 1)[1] == rec.download for u in rec.urls)
    if rec.checksum is None:
        assert "trust on first use" in rec.verification
    else:
        alg, _, value = rec.checksum.partition(":")
        assert alg in ("md5", "sha256")
        assert len(value) == {"md5": 32, "sha256": 64}[alg] and int(value, 16) >= 0


def test_the_papers_datasets_and_their_protocols():
    assert {r.paper: r.name for r in DATASETS.values() if r.paper} == {
        "ML-1M": "ml-1m", "Steam": "steam", "Anime": "anime"}
    assert DATASETS["ml-1m"].protocol == "authors"
    assert DATASETS["ml-1m"].checksum == "md5:c4d9eecfca2ab87c1945afe126590906"
    assert DATASETS["ml-100k"].checksum == "md5:0e33842e24a9c977be4e0107933c0723"
    with pytest.raises(Exception, match="known datasets: ml-latest-small"):
        registry.dataset("nope")


def test_reproduce_table2_by_name_shows_the_papers_counts(env, tmp_path, capsys):
    rows = "".join(f"{u},{i},{(u + i) % 10}\n" for u in range(1, 7) for i in range(1, 6))
    rating = tmp_path / "rating.csv"
    rating.write_text("user_id,anime_id,rating\n" + rows)
    assert _run(capsys, "data", "fetch", "anime", "--from", str(rating))[0] == 0
    out = tmp_path / "results"
    rc, _, err = _run(capsys, "reproduce", "table2", "--dataset", "anime", "--min-count", "1",
                      "--out", str(out), "--no-progress")
    assert rc == 0, err
    doc = json.loads((out / "table2.json").read_text())
    rows = {r["dataset"]: r for r in doc["rows"]}
    assert rows["Anime (paper)"]["users"] == 47143 and rows["Anime (paper)"]["items"] == 6535
    assert rows["difference"]["users"] == 6 - 47143
    assert any("anime (`leporid data list`)" in n for n in doc["notes"])


def test_docs_table_lists_every_record():
    text = (Path(__file__).resolve().parents[1] / "docs" / "datasets.md").read_text()
    for rec in DATASETS.values():
        assert f"| `{rec.name}` |" in text, rec.name
        assert rec.checksum is None or rec.checksum.partition(":")[2] in text


def test_steam_reviews_by_name_stay_compressed(server, env, capsys):
    from test_data_public_formats import STEAM_REVIEWS

    rec = DATASETS["steam"]
    server.files["/public_datasets/data/steam/" + rec.download] = gzip.compress(
        STEAM_REVIEWS.encode())
    rc, _, err = _run(capsys, "data", "fetch", "steam", "--mirror", server.url())
    assert rc == 0, err
    assert installed("steam")["file"] == "steam_reviews.json.gz"     # read as it came
    inter, protocol = load_dataset("steam")
    assert inter.name == "steam" and len(inter) == 4 and protocol == "kcore"
