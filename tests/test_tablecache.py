"""The whole-table cache of saved data sets: exact round trip, never stale, ignores half-written entries."""

import numpy as np

from msdash.dataset import Dataset
from msdash.features import extract
from msdash.features import tablecache


def _dataset(seed=0, n=6):
    rng = np.random.default_rng(seed)
    return Dataset("t", {f"s{i}": (rng.random((16, 16)) < 0.5).astype(np.float32) for i in range(n)})


class TestTableCache:
    def test_second_call_reads_the_table_with_identical_values(self):
        ds = _dataset()
        cold = extract(ds, "two_point", cutoff=4)
        warm = extract(_dataset(), "two_point", cutoff=4)  # a new object with the same content
        assert "table_cache" not in cold.provenance and warm.provenance["table_cache"] is True
        np.testing.assert_array_equal(np.asarray(warm.values), cold.values)
        assert warm.labels == list(cold.labels) and warm.names == cold.names

    def test_other_content_or_params_miss(self):
        extract(_dataset(), "two_point", cutoff=4)
        assert "table_cache" not in extract(_dataset(seed=1), "two_point", cutoff=4).provenance
        assert "table_cache" not in extract(_dataset(), "two_point", cutoff=3).provenance

    def test_failures_are_kept_in_the_table(self):
        images = dict(_dataset().images)
        images["bad"] = np.full((16, 16), np.nan, dtype=np.float32)
        ds = Dataset("t", images)
        cold = extract(ds, "volume_fraction")
        warm = extract(Dataset("t", images), "volume_fraction")
        assert warm.provenance.get("table_cache") and [e.name for e in warm.errors] == ["bad"]
        assert np.isnan(warm.values[-1]).all() and cold.errors[0].message == warm.errors[0].message

    def test_half_written_entry_is_ignored(self):
        ds = _dataset()
        table = extract(ds, "volume_fraction")
        folder = next((tablecache.config.workspace() / "features" / "tables").iterdir())
        (folder / "meta.json").unlink()  # killed before meta.json was written
        again = extract(_dataset(), "volume_fraction")
        assert "table_cache" not in again.provenance
        np.testing.assert_array_equal(again.values, table.values)
