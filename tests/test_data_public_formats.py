"""The formats of the registry's public datasets, on small files in their real layouts
(invented rows): UCSD Steam reviews v2, SNAP Gowalla check-ins, Amazon 2014 rating files,
and through the registry's own reading options (HetRec Last.fm, Kaggle Anime, UCSD Steam
libraries)."""

import gzip

import numpy as np
import pytest

from leporid.data import DataError, load
from leporid.data.datasets import DATASETS

# three lines as the UCSD file has them; the second user's name has an apostrophe (so Python
# wrote it in double quotes), the third review's text mentions a field, and the last line has
# its keys in another order (the slow path reads it)
STEAM_REVIEWS = (
    "{'username': 'Chaos Syren', 'hours': 0.1, 'products': 41, 'product_id': '725280', "
    "'page_order': 0, 'date': '2017-12-17', 'text': 'fun', 'early_access': False, 'page': 1}\n"
    "{'username': \"Kai's\", 'hours': 13.2, 'products': 2, 'product_id': '328100', "
    "'page_order': 1, 'date': '2017-10-16', 'text': 'ok', 'early_access': False, 'page': 1}\n"
    "{'username': 'Chaos Syren', 'products': 41, 'product_id': '328100', 'page_order': 2, "
    "'date': '2018-01-02', 'text': \"'username': 'x', 'date': '1999-01-01'\", "
    "'early_access': True, 'page': 1, 'user_id': '76561198007483075'}\n"
    "{'date': '2016-05-05', 'product_id': '10', 'text': 'old', 'username': 'Z\\\\z'}\n")


def _days(text):
    return float(np.datetime64(text, "D").astype(np.int64)) * 86400


@pytest.mark.parametrize("gz", [False, True])
def test_steam_reviews(tmp_path, gz):
    path = tmp_path / ("steam_reviews.json.gz" if gz else "steam_reviews.json")
    data = STEAM_REVIEWS.encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    inter = load(path)                                  # the file name says the format
    assert inter.meta["format"] == "steam-reviews"
    users = inter.user_ids[inter.users].tolist()
    items = inter.item_ids[inter.items].tolist()
    assert users == ["Chaos Syren", "Kai's", "Chaos Syren", "Z\\z"]
    assert items == [725280, 328100, 328100, 10]
    assert inter.timestamps.tolist() == [_days(d) for d in
                                         ("2017-12-17", "2017-10-16", "2018-01-02", "2016-05-05")]


def test_steam_reviews_bad_lines(tmp_path):
    path = tmp_path / "steam_reviews.json"
    path.write_text(STEAM_REVIEWS + "{'username': 'a', 'product_id': '1'}\n")
    with pytest.raises(DataError, match=r"steam_reviews.json:5: missing key\(s\) \['date'\]"):
        load(path)
    path.write_text("{'username': 'a', 'product_id': '1', 'date': '2017-13-45', 'text': ''}\n")
    with pytest.raises(DataError, match=r":1: date '2017-13-45' is not YYYY-MM-DD"):
        load(path)
    path.write_text("not a dict\n")
    with pytest.raises(DataError, match=r":1: not a Python literal dict"):
        load(path)
    bad = tmp_path / "steam_reviews.json.gz"
    bad.write_bytes(gzip.compress(STEAM_REVIEWS.encode())[:40])
    with pytest.raises(DataError, match="damaged gzip file"):
        load(bad)


def test_gowalla(tmp_path):
    path = tmp_path / "loc-gowalla_totalCheckins.txt"
    path.write_text("0\t2010-10-19T23:55:27Z\t30.2359091167\t-97.7951395833\t22847\n"
                    "0\t2010-10-18T22:17:43Z\t30.2691029532\t-97.7493953705\t420315\n"
                    "1\t2010-10-17T23:42:03Z\t30.2557309927\t-97.7633857727\t316637\n")
    inter = load(path)
    assert inter.meta["format"] == "gowalla"
    assert inter.item_ids[inter.items].tolist() == [22847, 420315, 316637]
    assert inter.timestamps[0] == _days("2010-10-19") + 23 * 3600 + 55 * 60 + 27
    # newest first in the file: the chronological order puts the 18th before the 19th
    assert inter.order().tolist() == [2, 1, 0]
    path.write_text("0\t2010-10-19T23:55:27Z\t30.2\t-97.7\n")
    with pytest.raises(DataError, match=r":1: expected 5 fields"):
        load(path)


def test_amazon_csv(tmp_path):
    path = tmp_path / "ratings_Video_Games.csv"
    path.write_text("AB9S9279OZ3QO,0078764343,5.0,1373155200\n"
                    "A24SSUT5CSW8BH,0078764343,5.0,1377302400\n")
    inter = load(path, "amazon-csv")
    assert inter.user_ids[inter.users].tolist() == ["AB9S9279OZ3QO", "A24SSUT5CSW8BH"]
    assert inter.item_ids[inter.items].tolist() == ["0078764343"] * 2  # ids kept as written
    assert inter.ratings.tolist() == [5.0, 5.0]
    assert inter.timestamps.tolist() == [1373155200.0, 1377302400.0]


def test_lastfm_with_the_records_options(tmp_path):
    rec = DATASETS["lastfm-2k"]
    path = tmp_path / rec.member
    path.write_text("userID\tartistID\tweight\n2\t51\t13883\n2\t52\t11690\n3\t51\t228\n")
    inter = load(path, rec.format, **dict(rec.options))
    assert inter.item_ids[inter.items].tolist() == [51, 52, 51]
    assert inter.ratings.tolist() == [13883.0, 11690.0, 228.0]
