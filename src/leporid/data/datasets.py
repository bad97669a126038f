"""The dataset registry: one record per dataset a user can ask for by name.

A record says where the data comes from (the publisher's URLs, or the page to download it by
hand when it needs a login), how to check it (the publisher's MD5/SHA-256 of the download, or
``None``: trust on first use, the SHA-256 recorded in the data directory at the first fetch),
which file inside the download the loader reads and in which format, the preparation the
paper used (its protocol is the name's default), the licence in one line and the citation.

Fetching lives in :mod:`leporid.data.fetch`; this module is data only (no network, no imports
beyond the standard library), so ``leporid data list`` is instant.
"""

from __future__ import annotations

from dataclasses import dataclass

from .interactions import DataError

GROUPLENS = "https://files.grouplens.org/datasets/movielens/"
MOVIELENS_LICENCE = ("GroupLens terms: research use, no redistribution without permission, "
                     "cite the paper")
MOVIELENS_CITATION = ("F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: "
                      "History and Context. ACM Transactions on Interactive Intelligent "
                      "Systems 5, 4, Article 19. https://doi.org/10.1145/2827872")
STEAM_PAGE = "https://cseweb.ucsd.edu/~jmcauley/datasets.html#steam_data"
STEAM_HOST = "https://mcauleylab.ucsd.edu/public_datasets/data/steam/"
UCSD_LICENCE = "UCSD McAuley lab: free for research use, cite the papers; no explicit licence"


@dataclass(frozen=True)
class Dataset:
    """One dataset: where it comes from, how it is checked, read and prepared, and its terms.

    ``urls`` are tried in order (the publisher's alternatives); empty when the data needs a
    login or an agreement (then ``page`` says where to get it and ``fetch --from`` installs it).
    ``checksum`` is ``"md5:HEX"`` or ``"sha256:HEX"`` of the download (of ``member`` itself when
    there is no download); ``None`` means trust on first use. ``member`` is the file the loader
    reads: a path inside a zip, the decompressed name of a ``.gz``, or the download itself.
    ``options`` are the loader's column options. ``protocol`` is the default ``--protocol``;
    ``paper`` the paper's dataset (its Table 2 row) when the paper used it.
    """

    name: str
    title: str
    urls: tuple[str, ...]
    page: str
    download: str | None          # file name of the download (None: login-only, see page)
    checksum: str | None          # "md5:..." / "sha256:..." or None (trust on first use)
    size: str                     # download size, roughly (for `data list`; not checked)
    licence: str                  # one line
    member: str
    format: str
    citation: str
    protocol: str = "kcore"
    paper: str | None = None
    preparation: str = ""
    options: tuple[tuple[str, str], ...] = ()
    bundled: bool = False

    @property
    def login(self) -> bool:
        """True when the data cannot be downloaded without an account or an agreement."""
        return not self.urls and not self.bundled

    @property
    def verification(self) -> str:
        """How a download is checked, in words (for `data list`)."""
        if self.bundled:
            return "shipped with the package"
        if self.checksum is None:
            return "trust on first use (SHA-256 recorded at the first fetch)"
        alg, _, value = self.checksum.partition(":")
        return f"{alg.upper()} {value} (publisher's)" if alg == "md5" else f"{alg} {value}"


def _movielens(name: str, size: str, member: str, fmt: str, md5: str, what: str,
               **extra) -> Dataset:
    return Dataset(name=name, title=f"MovieLens {what} (GroupLens)",
                   urls=(f"{GROUPLENS}{name}.zip",),
                   page=f"https://grouplens.org/datasets/movielens/{name.removeprefix('ml-')}/",
                   download=f"{name}.zip", checksum=f"md5:{md5}", size=size,
                   licence=MOVIELENS_LICENCE, member=member, format=fmt,
                   citation=MOVIELENS_CITATION, **extra)


_RECORDS = (
    Dataset(name="ml-latest-small", title="MovieLens latest-small (GroupLens, 2018)",
            urls=(), page="https://grouplens.org/datasets/movielens/latest/", download=None,
            checksum=None, size="shipped (3 MB)",
            licence="GroupLens terms: redistribution allowed under the same terms, "
                    "non-commercial (its README.txt ships with it)",
            member="ratings.csv", format="movielens-csv", citation=MOVIELENS_CITATION,
            preparation="20-core, 70/10/20 chronological split per user (the paper's text)",
            bundled=True),
    _movielens("ml-100k", "4.9 MB", "ml-100k/u.data", "ml100k",
               "0e33842e24a9c977be4e0107933c0723", "100K (1998)",
               preparation="20-core, 70/10/20 chronological split per user"),
    _movielens("ml-1m", "5.9 MB", "ml-1m/ratings.dat", "ml1m",
               "c4d9eecfca2ab87c1945afe126590906", "1M (2003)", protocol="authors",
               paper="ML-1M",
               preparation="the authors' runs: no k-core filter, per-user boundaries "
                           "floor(0.7 n), floor(0.8 n) in floating point, items never in "
                           "training dropped: 6,040 x 3,647 x 1,000,125 against the paper's "
                           "6,040 x 3,650 x 1,000,127 (the paper's text says 20-core: "
                           "--protocol kcore)"),
    _movielens("ml-10m", "63 MB", "ml-10M100K/ratings.dat", "ml1m",
               "ce571fd55effeba0271552578f2648bd", "10M (2009)",
               preparation="20-core, 70/10/20 chronological split per user"),
    _movielens("ml-20m", "190 MB", "ml-20m/ratings.csv", "movielens-csv",
               "cd245b17a1ae2cc31bb14903e1204af3", "20M (2015)",
               preparation="20-core, 70/10/20 chronological split per user"),
    _movielens("ml-25m", "250 MB", "ml-25m/ratings.csv", "movielens-csv",
               "6b51fb2759a8657d3bfcbfc42b592ada", "25M (2019)",
               preparation="20-core, 70/10/20 chronological split per user"),
    Dataset(name="steam", title="Steam reviews, version 2 (UCSD, Kang & McAuley)",
            urls=(f"{STEAM_HOST}steam_reviews.json.gz",
                  "https://cseweb.ucsd.edu/~wckang/steam_reviews.json.gz"),
            page=STEAM_PAGE, download="steam_reviews.json.gz", checksum=None, size="1.3 GB",
            licence=UCSD_LICENCE, member="steam_reviews.json.gz", format="steam-reviews",
            paper="Steam",
            preparation="our best reading of the paper's Steam (33,699 x 6,253 x 1,470,329): "
                        "these reviews (day-resolution dates, as in the authors' released "
                        "files), user = username, item = product_id, 20-core, chronological "
                        "70/10/20; the authors kept duplicate (user, item) rows, we drop them",
            citation="Wang-Cheng Kang and Julian McAuley. 2018. Self-Attentive Sequential "
                     "Recommendation. ICDM. Apurva Pathak, Kshitiz Gupta and Julian McAuley. "
                     "2017. Generating and Personalizing Bundle Recommendations on Steam. "
                     "SIGIR."),
    Dataset(name="steam-australia", title="Steam Australian users' libraries (UCSD, version 1)",
            urls=(f"{STEAM_HOST}australian_users_items.json.gz",), page=STEAM_PAGE,
            download="australian_users_items.json.gz", checksum=None, size="71 MB",
            licence=UCSD_LICENCE, member="australian_users_items.json", format="steam-json",
            preparation="20-core on owned games (no timestamps: library order is the time "
                        "order); not the paper's Steam (88,310 users, no dates)",
            citation="Wang-Cheng Kang and Julian McAuley. 2018. Self-Attentive Sequential "
                     "Recommendation. ICDM. Mengting Wan and Julian McAuley. 2018. Item "
                     "Recommendation on Monotonic Behavior Chains. RecSys."),
    Dataset(name="anime", title="Anime Recommendations Database (Kaggle, CooperUnion)",
            urls=(), page="https://www.kaggle.com/datasets/CooperUnion/"
                          "anime-recommendations-database",
            download=None, checksum=None, size="112 MB (rating.csv)",
            licence="Kaggle: CC0 public domain (data from myanimelist.net); a Kaggle login "
                    "is needed to download it",
            member="rating.csv", format="anime", paper="Anime",
            preparation="our best reading of the paper's Anime (47,143 x 6,535 x 6,143,751): "
                        "20-core, file order as time order (no timestamps); the paper's count "
                        "is below the file's ~6.3M rated rows and far below its ~7.8M rows, "
                        "which suggests rating -1 ('watched, not rated') was dropped first; "
                        "unchecked, and the loader keeps -1",
            citation="CooperUnion. 2016. Anime Recommendations Database. Kaggle. "
                     "https://www.kaggle.com/datasets/CooperUnion/anime-recommendations-database"),
    Dataset(name="gowalla", title="Gowalla check-ins (SNAP)",
            urls=("https://snap.stanford.edu/data/loc-gowalla_totalCheckins.txt.gz",),
            page="https://snap.stanford.edu/data/loc-Gowalla.html",
            download="loc-gowalla_totalCheckins.txt.gz", checksum=None, size="105 MB",
            licence="SNAP: free for research use, cite the paper",
            member="loc-gowalla_totalCheckins.txt", format="gowalla",
            preparation="implicit check-ins (NGCF and LightGCN use a 10-core of it); "
                        "20-core, chronological 70/10/20",
            citation="Eunjoon Cho, Seth A. Myers and Jure Leskovec. 2011. Friendship and "
                     "Mobility: User Movement in Location-Based Social Networks. KDD."),
    Dataset(name="lastfm-2k", title="Last.fm 2K users' artists (HetRec 2011, GroupLens)",
            urls=("https://files.grouplens.org/datasets/hetrec2011/hetrec2011-lastfm-2k.zip",),
            page="https://grouplens.org/datasets/hetrec-2011/",
            download="hetrec2011-lastfm-2k.zip", checksum=None, size="2.6 MB",
            licence="HetRec 2011 (GroupLens): non-commercial research use, cite the workshop",
            member="user_artists.dat", format="tsv",
            options=(("user_col", "userID"), ("item_col", "artistID"), ("rating_col", "weight")),
            preparation="implicit listening (user, artist, play count); no timestamps, file "
                        "order; 20-core leaves few users: try --min-count 5",
            citation="Ivan Cantador, Peter Brusilovsky and Tsvi Kuflik. 2011. 2nd Workshop on "
                     "Information Heterogeneity and Fusion in Recommender Systems (HetRec "
                     "2011). RecSys."),
    Dataset(name="amazon-videogames", title="Amazon Video Games ratings (2014, McAuley)",
            urls=("https://snap.stanford.edu/data/amazon/productGraph/categoryFiles/"
                  "ratings_Video_Games.csv",),
            page="https://cseweb.ucsd.edu/~jmcauley/datasets/amazon/links.html",
            download="ratings_Video_Games.csv", checksum=None, size="58 MB",
            licence="UCSD/SNAP Amazon reviews: research use only, cite the papers",
            member="ratings_Video_Games.csv", format="amazon-csv",
            preparation="reviews as implicit feedback (a category like LightGCN's "
                        "Amazon-Book, the same domain as Steam); 20-core, chronological "
                        "70/10/20",
            citation="Ruining He and Julian McAuley. 2016. Ups and Downs: Modeling the Visual "
                     "Evolution of Fashion Trends with One-Class Collaborative Filtering. "
                     "WWW. Julian McAuley et al. 2015. Image-Based Recommendations on Styles "
                     "and Substitutes. SIGIR."),
)

DATASETS: dict[str, Dataset] = {d.name: d for d in _RECORDS}


def dataset(name: str) -> Dataset:
    """The record called ``name``; a ``DataError`` listing the known names otherwise."""
    try:
        return DATASETS[str(name)]
    except KeyError:
        raise DataError(f"unknown dataset {name!r}; known datasets: "
                        f"{', '.join(DATASETS)} (see `leporid data list`)") from None


def is_registered(name) -> bool:
    """True when ``name`` is a registry name (a string equal to one; paths are not)."""
    return isinstance(name, str) and name in DATASETS
