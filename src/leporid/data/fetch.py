"""Fetch registry datasets into the data directory, verified (loaders.load reads them by name).

The data directory is ``$LEPORID_DATA`` (default: the user's cache folder, ``pooch.os_cache``).
Each fetched dataset is a folder ``NAME/`` holding the file the loader reads, the verified
download, and ``leporid-dataset.json`` (what was fetched, from where, its SHA-256). A folder
appears only complete: everything happens in a ``.NAME.partial-*`` folder (pooch downloads
to a temporary name inside it), which is checked, extracted and described there and then
renamed to ``NAME/`` in one step; anything that fails removes it. A file lock serialises
fetches of one dataset (a second, concurrent one waits, then finds the dataset there).

Downloads go through pooch (HTTP, retries, progress bar). ``mirror`` (or
``$LEPORID_DATA_MIRROR``) replaces the publisher's scheme and host, keeping the path:
``https://files.grouplens.org/datasets/movielens/ml-1m.zip`` with mirror
``http://proxy:8000/mirror`` is fetched from ``http://proxy:8000/mirror/datasets/movielens/
ml-1m.zip``. A dataset whose publisher gives no checksum is trusted on first use: the SHA-256
of its first download is written to ``trusted-sha256.txt`` in the data directory and every
later download must match it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from .datasets import Dataset, dataset
from .interactions import DataError

ENV_DATA, ENV_MIRROR, ENV_RETRIES = "LEPORID_DATA", "LEPORID_DATA_MIRROR", "LEPORID_DATA_RETRIES"
MARKER = "leporid-dataset.json"
TRUSTED = "trusted-sha256.txt"
TIMEOUT_S = 60            # per connect / read; a stalled server fails instead of hanging
_CHUNK = 1 << 20


def data_dir() -> Path:
    """``$LEPORID_DATA``, else the user's cache folder for leporid (not created here)."""
    env = os.environ.get(ENV_DATA)
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("leporid"))


def installed(name: str) -> dict | None:
    """The description of a fetched dataset (its ``leporid-dataset.json``), or None."""
    marker = data_dir() / name / MARKER
    try:
        info = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    return info if (marker.parent / info.get("file", "")).is_file() else None


def locate(name: str, download: bool = False, mirror: str | None = None) -> Path:
    """The fetched, verified file of registry dataset ``name``; fetched first when ``download``,
    else a ``DataError`` naming the command that fetches it."""
    rec = dataset(name)
    if rec.bundled:
        raise DataError(f"{name}: is bundled with the package; load it by name")
    info = installed(name)
    if info is None:
        if not download:
            raise DataError(f"{name}: not fetched yet into {data_dir()}; run `leporid data "
                            f"fetch {name}` (or add --download)")
        fetch(name, mirror=mirror)
        info = installed(name)
    return data_dir() / name / info["file"]


# ------------------------------------------------------------------------------------------
# fetching
# ------------------------------------------------------------------------------------------
def fetch(name: str, source=None, mirror: str | None = None, force: bool = False,
          progress: bool | None = None, log=None) -> tuple[Path, bool]:
    """Fetch (or, with ``source``, install a file the user downloaded) registry dataset ``name``.

    Returns ``(path of the file the loader reads, True if it was installed now)``; a dataset
    already there is left alone (``False``) unless ``force``. Raises ``DataError`` (one line)
    on a network failure, a checksum mismatch or a bad archive, leaving nothing installed.
    """
    from filelock import FileLock

    rec = dataset(name)
    if rec.bundled:
        raise DataError(f"{name}: is bundled with the package; nothing to fetch")
    log = log or (lambda msg: print(msg, file=sys.stderr))
    if source is not None:
        source = Path(source).expanduser()
        if not source.is_file():
            raise DataError(f"--from {source}: no such file")
    elif rec.login:
        raise DataError(f"{name}: needs a login to download: get {rec.member} from {rec.page}, "
                        f"then run `leporid data fetch {name} --from FILE`")
    root = data_dir()
    root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(root / f".{name}.lock"))
    try:
        lock.acquire(timeout=0)
    except TimeoutError:
        log(f"{name}: another fetch of it is running; waiting for it")
        lock.acquire()
    try:
        if installed(name) is not None and not force:
            return data_dir() / name / installed(name)["file"], False
        for stale in root.glob(f".{name}.partial-*"):    # left by a killed fetch
            shutil.rmtree(stale, ignore_errors=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{name}.partial-", dir=root))
        _share(stage)
        try:
            got, origin = (_copy_in(rec, source, stage) if source is not None
                           else _download(rec, stage, mirror, progress, log))
            # what a checksum speaks for: the download, or (no download: a login dataset)
            # the loader's file itself, whatever zip the user's copy came in
            if rec.download:
                sha256 = _verify(rec, got, root, origin)
                member = _extract(rec, got, stage)
            else:
                member = _extract(rec, got, stage)
                sha256 = _verify(rec, member, root, origin)
            info = {"name": rec.name, "file": member.name, "download": got.name,
                    "sha256": sha256, "checksum": rec.checksum or f"sha256:{sha256} (trusted "
                    "on first use)", "source": origin, "format": rec.format,
                    "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            (stage / MARKER).write_text(json.dumps(info, indent=2) + "\n")
            for f in stage.iterdir():
                _share(f, 0o666)
            if rec.checksum is None:
                _trust(root, rec.name, sha256)
            _replace_dir(stage, root / name)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        log(f"{name}: installed {root / name / member.name} (sha256 {sha256[:16]}...)")
        return root / name / member.name, True
    finally:
        lock.release()


def mirrored(url: str, mirror: str | None) -> str:
    """``url`` with its scheme and host replaced by ``mirror`` (its path kept)."""
    if not mirror:
        return url
    if not mirror.lower().startswith(("http://", "https://", "ftp://")):
        raise ValueError(f"--mirror {mirror}: expected an http://, https:// or ftp:// URL")
    parts = urlsplit(url)
    return mirror.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")


def _download(rec: Dataset, stage: Path, mirror: str | None, progress: bool | None,
              log) -> tuple[Path, str]:
    import pooch
    import requests

    mirror = mirror or os.environ.get(ENV_MIRROR) or None
    retries = os.environ.get(ENV_RETRIES, "2")
    if not retries.isdigit():
        raise ValueError(f"${ENV_RETRIES}={retries!r}: expected a whole number of retries")
    retries = int(retries)
    progress = sys.stderr.isatty() if progress is None else progress
    pooch.get_logger().setLevel("WARNING")       # we say what is fetched, once
    failures = []
    for url in dict.fromkeys(mirrored(u, mirror) for u in rec.urls):
        log(f"{rec.name}: downloading {url} ({rec.size})")
        store = pooch.create(path=stage, base_url="", registry={rec.download: None},
                             urls={rec.download: url}, retry_if_failed=retries)
        try:
            getter = pooch.HTTPDownloader(progressbar=progress, chunk_size=_CHUNK,
                                          timeout=TIMEOUT_S)
            path = store.fetch(rec.download, downloader=getter)
            return Path(path), url
        except requests.exceptions.RequestException as exc:
            failures.append(f"{url}: {_reason(exc)}")
        except OSError as exc:
            failures.append(f"{url}: {exc.strerror or exc}")
    raise DataError(f"{rec.name}: download failed ({'; '.join(failures)}); nothing was "
                    f"installed" + ("" if mirror else " (behind a proxy? try --mirror URL)"))


def _reason(exc) -> str:
    """A short reason for a failed request (requests' own messages run over several lines)."""
    import requests

    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code} {exc.response.reason}"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the connection broke off before the end of the file"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"no answer within {TIMEOUT_S} s"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "could not connect, or the connection was dropped"
    return type(exc).__name__


def _copy_in(rec: Dataset, source: Path, stage: Path) -> tuple[Path, str]:
    """``--from FILE``: a copy of the user's file in the staging folder."""
    name = rec.download or (source.name if source.suffix == ".zip" else rec.member)
    dest = stage / PurePosixPath(name).name
    shutil.copyfile(source, dest)
    return dest, f"--from {source.name}"


def file_hash(path: Path, alg: str = "sha256") -> str:
    """Hex digest of a file, read in chunks."""
    h = hashlib.new(alg)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _verify(rec: Dataset, path: Path, root: Path, origin: str) -> str:
    """Check ``path`` against the publisher's checksum or the one trusted on first use;
    return its SHA-256. A mismatch is a ``DataError`` with both hashes (the caller removes
    the file)."""
    sha256 = file_hash(path)
    if rec.checksum is not None:
        alg, _, want = rec.checksum.partition(":")
        got = sha256 if alg == "sha256" else file_hash(path, alg)
        whose = "the publisher's"
    else:
        alg, want, got = "sha256", _trusted(root).get(rec.name), sha256
        whose = f"the one recorded at the first fetch in {root / TRUSTED}"
    if want is not None and got != want.lower():
        raise DataError(f"{rec.name}: checksum mismatch for {path.name} from {origin}: expected "
                        f"{alg} {want} ({whose}), got {alg} {got}; the file was removed, "
                        f"nothing was installed")
    return sha256


def _trusted(root: Path) -> dict[str, str]:
    """``name -> sha256`` from ``trusted-sha256.txt`` (one ``NAME sha256:HEX`` a line)."""
    try:
        lines = (root / TRUSTED).read_text().splitlines()
    except OSError:
        return {}
    out = {}
    for line in lines:
        parts = line.split("#", 1)[0].split()
        if len(parts) == 2 and parts[1].startswith("sha256:"):
            out[parts[0]] = parts[1].removeprefix("sha256:")
    return out


def _trust(root: Path, name: str, sha256: str) -> None:
    """Record ``name``'s SHA-256 (first use), atomically; an existing record is kept."""
    known = _trusted(root)
    if name in known:
        return
    known[name] = sha256
    text = ("# SHA-256 of datasets whose publisher gives no checksum, recorded at their first "
            "fetch\n" + "".join(f"{k} sha256:{v}\n" for k, v in sorted(known.items())))
    tmp = root / f".{TRUSTED}.{os.getpid()}.tmp"
    tmp.write_text(text)
    os.replace(tmp, root / TRUSTED)


def _extract(rec: Dataset, got: Path, stage: Path) -> Path:
    """The loader's file, taken out of the verified download (zip member, gunzipped, or the
    file itself); a ``DataError`` for a damaged or unexpected archive."""
    target = stage / PurePosixPath(rec.member).name
    if got == target:                    # the download is the loader's file (a .gz it reads)
        return target
    try:
        if zipfile.is_zipfile(got):
            with zipfile.ZipFile(got) as z:
                entry = _zip_member(rec, z, got)
                with z.open(entry) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
        elif got.name.endswith(".zip"):
            raise DataError(f"{rec.name}: {got.name} is not a valid zip archive (a truncated "
                            f"or corrupt download?); nothing was installed")
        elif got.name.endswith(".gz"):
            with gzip.open(got, "rb") as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, _CHUNK)
            got.unlink()                 # the same bytes, decompressed: keep one copy
        else:
            got.rename(target)
    except (zipfile.BadZipFile, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"{rec.name}: {got.name} is damaged ({exc}); nothing was "
                        f"installed") from None
    return target


def _zip_member(rec: Dataset, z: zipfile.ZipFile, got: Path) -> str:
    names = z.namelist()
    if rec.member in names:
        return rec.member
    base = PurePosixPath(rec.member).name
    hits = [n for n in names if PurePosixPath(n).name == base]
    if len(hits) != 1:
        raise DataError(f"{rec.name}: {got.name} holds {'no' if not hits else 'several'} "
                        f"{base} (expected {rec.member}); nothing was installed")
    return hits[0]


def _share(path: Path, mode: int = 0o777) -> None:
    """Give ``path`` the permissions the umask allows (temporary files are private)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, mode & ~umask)


def _replace_dir(stage: Path, final: Path) -> None:
    """Put the complete staging folder in place of ``final`` (rename: all or nothing)."""
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.rename(final, old)
        shutil.rmtree(old, ignore_errors=True)
    os.rename(stage, final)
