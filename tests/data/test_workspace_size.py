"""The workspace keeps one copy of the feature values: its size stays within 1.5× source images + values."""

import os

import numpy as np

from msdash.data.dataset import Dataset
from msdash.data.datastore import save_dataset
from msdash.features import extract
from msdash.data.imagestore import Images


def _disk(root):
    total = 0
    for folder, _, files in os.walk(root):
        total += sum(os.lstat(os.path.join(folder, f)).st_size for f in files)
    return total


def _images(n=300, size=32, seed=0):
    rng = np.random.default_rng(seed)
    return Images({f"img{i:04d}": rng.random((size, size)) < 0.4 for i in range(n)})  # bool, as uploads keep


def test_workspace_is_within_one_and_a_half_times_source_plus_values(workspace):
    images = _images()
    save_dataset(Dataset("w", images))
    tables = [extract(Dataset("w", images), name, **params)
              for name, params in (("two_point", {"cutoff": 12}), ("volume_fraction", {}))]
    source = sum(a.nbytes for a in images.raw_values())  # the decoded images, in their own dtype
    values = sum(t.values.size * 8 for t in tables)  # float64, as the tables hold them
    assert values > 2 * source  # the values dominate: a second copy of them would break the bound
    ratio = _disk(workspace) / (source + values)
    assert ratio <= 1.5, f"workspace {ratio:.2f}× the source images + feature values"
    # The tables still come back from the cache, exactly.
    again = extract(Dataset("w", images), "two_point", cutoff=12)
    assert again.provenance.get("table_cache") is True
    np.testing.assert_array_equal(np.asarray(again.values), tables[0].values)


def test_the_values_are_on_disk_once(workspace):
    images = _images(n=200)
    save_dataset(Dataset("w", images))
    table = extract(Dataset("w", images), "two_point", cutoff=12)
    features = _disk(workspace / "features")
    # One float64 copy plus headers (a hash of 64 characters a row) and the registry; two copies would not fit.
    assert table.values.nbytes <= features < table.values.nbytes + 200 * 200 + 64 * 1024
