"""The feature store: cache hits, keys, persistence, error caching and concurrent writers."""

import multiprocessing

import numpy as np
import pytest

from msdash.features import EXTRACTORS, ExtractorSpec, Param, extract, register
from msdash.features.store import FeatureStore, extractor_key, image_hash


@pytest.fixture
def spy():
    """A registered toy extractor counting the images it computes."""
    counted = []

    def sums(stack, *, power=1):
        stack = np.asarray(stack)
        counted.extend(range(len(stack)))
        if (stack == 9).any():
            raise ValueError("nine is not allowed")
        if (stack == 8).any():
            raise MemoryError("pretend the machine ran out")
        return (stack ** power).sum(axis=(1, 2))[:, None]

    register(ExtractorSpec("toy_sum", "Toy sum", "learned", "sum of pixels", sums,
                           (Param("power", 1, "int"),)), replace=True)
    yield counted
    EXTRACTORS.pop("toy_sum", None)


def _images(n, seed=0, size=6):
    rng = np.random.default_rng(seed)
    return {f"s{i}": rng.random((size, size)).astype(np.float32) for i in range(n)}


class TestCache:
    def test_second_call_reads_instead_of_computing(self, spy):
        images = _images(5)
        first = extract(images, "toy_sum")
        assert len(spy) == 5 and first.provenance["store_misses"] == 5
        second = extract(images, "toy_sum")
        assert len(spy) == 5, "the second call must not compute"
        assert second.provenance["store_hits"] == 5 and second.provenance["store_misses"] == 0
        np.testing.assert_array_equal(first.values, second.values)
        assert second.labels == first.labels and second.key == first.key

    def test_only_new_images_are_computed(self, spy):
        images = _images(4)
        extract(dict(list(images.items())[:2]), "toy_sum")
        table = extract(images, "toy_sum")
        assert len(spy) == 4 and table.provenance["store_hits"] == 2
        np.testing.assert_allclose(table.values[:, 0], [a.sum() for a in images.values()], rtol=1e-6)

    def test_other_params_or_version_are_other_keys(self, spy):
        images = _images(3)
        one = extract(images, "toy_sum")
        two = extract(images, "toy_sum", power=2)
        assert len(spy) == 6 and one.key != two.key
        assert extractor_key("toy_sum", {"power": 1}, "1") != extractor_key("toy_sum", {"power": 1}, "2")
        import dataclasses

        register(dataclasses.replace(EXTRACTORS["toy_sum"], version="2"), replace=True)
        three = extract(images, "toy_sum")
        assert len(spy) == 9 and three.key != one.key

    def test_store_false_neither_reads_nor_writes(self, spy):
        images = _images(3)
        extract(images, "toy_sum", store=False)
        extract(images, "toy_sum", store=False)
        assert len(spy) == 6 and FeatureStore().count() == 0

    def test_same_pixels_in_other_containers_hit(self, spy):
        images = _images(2)
        extract(images, "toy_sum")
        extract([a.astype(np.float64) for a in images.values()], "toy_sum")  # float32 after decoding
        assert len(spy) == 2


class TestErrors:
    def test_failures_are_cached_but_not_machine_errors(self, spy):
        images = _images(3)
        images["s1"][0, 0] = 9
        images["s2"][0, 0] = 8
        first = extract(images, "toy_sum")
        assert {e.name for e in first.errors} == {"s1", "s2"}
        computed = len(spy)
        second = extract(images, "toy_sum")
        # s0 and s1 come from the store (s1 as its error); s2 (MemoryError) is computed again.
        assert len(spy) - computed == 1 and second.provenance["store_hits"] == 2
        assert [e.name for e in second.errors] == ["s1", "s2"]
        assert "nine is not allowed" in second.errors[0].message
        assert FeatureStore().count(first.key) == 2


class TestStore:
    def test_persists_across_instances(self, tmp_path):
        path = tmp_path / "f.sqlite"
        FeatureStore(path).put_many("k", [("h1", np.arange(3.0), None), ("h2", None, "broken")])
        again = FeatureStore(path).get_many(["h1", "h2", "h3"], "k")
        assert set(again) == {"h1", "h2"}
        np.testing.assert_array_equal(again["h1"].values, [0.0, 1.0, 2.0])
        assert again["h2"].values is None and again["h2"].error == "broken"

    def test_default_path_is_in_the_workspace(self, workspace):
        assert FeatureStore().path == workspace / "features" / "features.sqlite"

    def test_many_hashes_are_read_in_chunks(self):
        store = FeatureStore()
        rows = [(f"h{i}", np.array([float(i)]), None) for i in range(2500)]
        assert store.put_many("k", rows) == 2500
        found = store.get_many([f"h{i}" for i in range(2500)] + ["nope"], "k")
        assert len(found) == 2500 and found["h1999"].values[0] == 1999.0
        assert store.count("k") == 2500 and store.count("other") == 0

    def test_replace_and_clear(self):
        store = FeatureStore()
        store.put_many("a", [("h", np.ones(2), None)])
        store.put_many("a", [("h", np.zeros(2), None)])
        store.put_many("b", [("h", np.ones(2), None)])
        assert store.count() == 2 and store.get_many(["h"], "a")["h"].values.tolist() == [0.0, 0.0]
        assert store.clear("a") == 1 and store.count() == 1
        store.clear()
        assert store.count() == 0

    def test_image_hash_sees_dtype_shape_and_bytes(self):
        a = np.zeros((4, 4), dtype=np.float32)
        assert image_hash(a) == image_hash(np.zeros((4, 4), dtype=np.float32))
        assert len({image_hash(a), image_hash(a.astype(np.float64)), image_hash(a.reshape(2, 8)),
                    image_hash(a + 1)}) == 4

    def test_table_registry(self, spy):
        store = FeatureStore()
        table = extract(_images(3), "toy_sum", store=store)
        store.save_table_meta("ds1", table)
        store.save_table_meta("ds1", table)  # the same table once
        listed = store.list_tables("ds1")
        assert len(listed) == 1 and store.list_tables("other") == []
        row = listed[0]
        expected = ("toy_sum", 3, 1, {"power": 1, "sections": "mean"})
        assert (row["extractor"], row["n"], row["d"], row["params"]) == expected
        assert row["extractor_key"] == table.key and row["provenance"]["n_samples"] == 3


def _writer(path, worker, n):
    store = FeatureStore(path)
    for i in range(n):  # one transaction per row: the most contention
        store.put_many("k", [(f"w{worker}-{i}", np.full(4, float(i)), None)])


def test_two_processes_write_at_once(tmp_path):
    path = tmp_path / "shared.sqlite"
    FeatureStore(path)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(path, w, 200)) for w in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    store = FeatureStore(path)
    assert store.count("k") == 400
    found = store.get_many([f"w{w}-{i}" for w in range(2) for i in range(200)], "k")
    assert len(found) == 400 and found["w1-199"].values.tolist() == [199.0] * 4
