"""Deleting a data set's features (tables, store rows, imported tables, runs) and naming imported tables."""

import json
import multiprocessing
import os

import numpy as np
import pytest

from msdash import config
from msdash.data.dataset import Dataset
from msdash.data.datastore import save_dataset
from msdash.errors import InputError
from msdash.features import extract, tablecache
from msdash.features.cleanup import delete_dataset_features, rename_imported
from msdash.features.imported import import_features, list_imported, load_imported, save_imported
from msdash.features.labels import IndexLabels
from msdash.features.store import default_store
from msdash.features.table import FeatureTable


def _images(n, seed, size=12):
    rng = np.random.default_rng(seed)
    return {f"{seed}-{i}": (rng.random((size, size)) < 0.5).astype(np.float32) for i in range(n)}


def _saved(images, name="d"):
    ds = Dataset(name, images)
    return ds, save_dataset(ds)


def _disk(root):
    total = 0
    for folder, _, files in os.walk(root):
        total += sum(os.lstat(os.path.join(folder, f)).st_size for f in files)
    return total


def _stored(ds, key):
    return default_store().get_many(ds.image_hashes(), key)


class TestDeleteDatasetFeatures:
    def test_everything_of_the_data_set_goes_and_the_bytes_freed_are_what_the_disk_lost(self, workspace):
        ds, ds_id = _saved(_images(6, 0))
        table = extract(ds, "two_point", cutoff=3)
        extract(ds, "volume_fraction")
        csv = "name,e0\n" + "".join(f"{n},{i}\n" for i, n in enumerate(ds.names))
        save_imported(ds_id, import_features(("e.csv", csv.encode()), ds.names))
        run = workspace / "learned" / "cnn" / "r1"
        run.mkdir(parents=True)
        (run / "meta.json").write_text(json.dumps({"dataset_id": ds_id}))
        (run / "model.safetensors").write_bytes(b"x" * 1000)
        other_run = workspace / "learned" / "cnn" / "r2"
        other_run.mkdir()
        (other_run / "meta.json").write_text(json.dumps({"dataset_id": "0" * 16}))
        default_store().save_table_meta(ds_id, table)
        before = _disk(workspace)
        freed = delete_dataset_features(ds_id)
        assert freed > table.values.nbytes and freed == before - _disk(workspace)
        assert _stored(ds, table.key) == {} and tablecache.table_blocks() == {}
        assert list_imported(ds_id) == [] and not run.exists() and other_run.exists()
        assert default_store().list_tables(ds_id) == [] and not tablecache.hashes_file(ds_id).exists()
        assert delete_dataset_features(ds_id) == 0  # nothing left: a second call frees nothing

    def test_images_shared_with_another_saved_data_set_keep_their_features(self):
        a_images, b_images = _images(5, 1), _images(4, 2)
        shared = dict(list(a_images.items())[:2])
        a, a_id = _saved(a_images)
        b, _ = _saved({**shared, **b_images}, "b")
        ta, tb = extract(a, "two_point", cutoff=3), extract(b, "two_point", cutoff=3)
        delete_dataset_features(a_id)
        found = _stored(a, ta.key)
        assert sorted(found) == sorted(a.image_hashes()[:2])  # the shared ones, nothing else
        np.testing.assert_array_equal(np.stack([found[h].values for h in a.image_hashes()[:2]]), ta.values[:2])
        again = extract(Dataset("b", {**shared, **b_images}), "two_point", cutoff=3)
        assert again.provenance.get("table_cache") is True  # b's table is untouched
        np.testing.assert_array_equal(np.asarray(again.values), tb.values)

    def test_a_saved_data_set_without_features_still_protects_its_images(self):
        a_images = _images(5, 3)
        a, a_id = _saved(a_images)
        c, _ = _saved(dict(list(a_images.items())[3:]), "c")  # never extracted
        ta = extract(a, "volume_fraction")
        delete_dataset_features(a_id)
        found = _stored(a, ta.key)
        assert sorted(found) == sorted(c.image_hashes())
        np.testing.assert_array_equal([found[h].values[0] for h in c.image_hashes()], ta.values[3:, 0])

    def test_called_after_the_data_set_was_deleted_it_still_finds_the_rows(self, workspace):
        import shutil

        a, a_id = _saved(_images(4, 4))
        ta = extract(a, "volume_fraction")
        shutil.rmtree(workspace / "datasets" / a_id)  # deleted by a version that left its features behind
        assert delete_dataset_features(a_id) > 0 and _stored(a, ta.key) == {}

    def test_deleting_the_data_set_takes_its_rows_along(self):
        from msdash.saved import delete_saved

        a, a_id = _saved(_images(4, 7))
        ta = extract(a, "volume_fraction")
        delete_saved(a_id)
        assert _stored(a, ta.key) == {} and delete_dataset_features(a_id) == 0

    def test_plain_blocks_holding_other_rows_are_rewritten_without_the_data_sets(self):
        a_images, other = _images(3, 5), _images(3, 6)
        extract({**a_images, **other}, "volume_fraction")  # one plain block: a CLI run on a folder
        a, a_id = _saved(a_images)
        ta = extract(a, "volume_fraction")
        delete_dataset_features(a_id)
        loose = Dataset("x", other)
        found = _stored(loose, ta.key)
        assert sorted(found) == sorted(loose.image_hashes()) and _stored(a, ta.key) == {}
        np.testing.assert_array_equal([found[h].values[0] for h in loose.image_hashes()],
                                      [np.mean(v, dtype=np.float64) for v in other.values()])

    def test_a_table_sharing_the_deleted_data_sets_block_still_loads(self):
        import pandas as pd

        images = _images(5, 9)
        a = Dataset("a", images, pd.DataFrame({"hv": np.arange(5.0)}, index=list(images)))
        b = Dataset("b", images, pd.DataFrame({"hv": np.arange(5.0) * 2}, index=list(images)))
        a_id, _ = save_dataset(a), save_dataset(b)
        ta = extract(a, "two_point", cutoff=2)
        extract(b, "two_point", cutoff=2)  # the same images: b's table shares a's block
        delete_dataset_features(a_id)
        again = extract(Dataset("b", images, b.properties), "two_point", cutoff=2)
        assert again.provenance.get("table_cache") is True
        np.testing.assert_array_equal(np.asarray(again.values), ta.values)

    def test_a_bad_id_is_refused(self):
        with pytest.raises(InputError, match="not a data set id"):
            delete_dataset_features("../etc")

    def test_a_reader_in_another_process_never_sees_a_missing_shared_row(self):
        a_images, b_images = _images(40, 7), _images(5, 8)
        shared = dict(list(a_images.items())[:20])
        a, a_id = _saved(a_images)
        b, _ = _saved({**shared, **b_images}, "b")
        ta = extract(a, "two_point", cutoff=2)
        wanted = b.image_hashes()[:20]
        context = multiprocessing.get_context("fork")
        results = context.Queue()
        go = context.Event()
        reader = context.Process(target=_read_repeatedly, args=(str(config.workspace()), wanted, ta.key, go, results))
        reader.start()
        go.wait(30)
        delete_dataset_features(a_id)
        reader.join(60)
        counts = results.get(timeout=5)
        assert counts and min(counts) == 20, counts


def _read_repeatedly(home, hashes, key, go, results):
    os.environ["MSDASH_HOME"] = home
    from msdash.features.store import FeatureStore

    store, counts = FeatureStore(), []
    go.set()
    for _ in range(200):
        counts.append(len(store.get_many(hashes, key)))
    results.put(counts)


class TestRenameImported:
    def _save(self, ds_id="ds"):
        table = import_features(("emb.csv", b"name,e0\na,1\nb,2\n"), ["a", "b"])
        save_imported(ds_id, table)
        return table

    def test_renamed_table_loads_under_its_new_name_with_the_same_values(self):
        table = self._save()
        assert rename_imported("ds", "emb.csv", "  DINO from paper  ") == "DINO from paper"
        assert list_imported("ds") == ["DINO from paper"]
        renamed = load_imported("ds", "imported:DINO from paper")
        assert renamed.extractor == "imported:DINO from paper" and renamed.provenance["renamed_from"] == "emb.csv"
        np.testing.assert_array_equal(renamed.values, table.values)
        save_imported("ds2", renamed)  # a copy (a data set saved under a new id) keeps the name
        assert list_imported("ds2") == ["DINO from paper"]

    def test_keeps_its_place_among_older_and_newer_tables(self):
        self._save()
        save_imported("ds", import_features(("z.csv", b"name,z\na,1\nb,2\n"), ["a", "b"]))
        rename_imported("ds", "emb.csv", "first")
        assert list_imported("ds") == ["first", "z.csv"]

    @pytest.mark.parametrize("bad", ["", "   ", "two\nlines", "x" * 201, "z.csv"])
    def test_bad_or_taken_names_are_refused_and_nothing_changes(self, bad):
        self._save()
        save_imported("ds", import_features(("z.csv", b"name,z\na,1\nb,2\n"), ["a", "b"]))
        with pytest.raises(InputError):
            rename_imported("ds", "emb.csv", bad)
        assert list_imported("ds") == ["emb.csv", "z.csv"]

    def test_unknown_table_is_refused(self):
        with pytest.raises(InputError, match="No imported feature table 'nope'"):
            rename_imported("ds", "nope", "x")


class TestWideImported:
    def test_a_table_wider_than_the_list_limit_keeps_its_label_rule_not_its_labels(self, monkeypatch):
        from msdash.features import imported_store, labels

        monkeypatch.setattr(imported_store, "LIST_LABELS_MAX", 10)
        monkeypatch.setattr(labels, "LIST_LABELS_MAX", 10)
        values = np.random.default_rng(0).random((3, 25))
        table = FeatureTable(values, IndexLabels("emb", 25), ["a", "b", "c"], extractor="imported:emb.npy",
                             kind="imported")
        path = save_imported("ds", table)
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        assert schema.names == ["sample", "values"] and b"emb[3]" not in schema.metadata[b"msdash"]
        loaded = load_imported("ds", "emb.npy")
        assert isinstance(loaded.labels, IndexLabels) and loaded.labels[24] == "emb[24]"
        np.testing.assert_array_equal(loaded.values, values)
        assert loaded.names == ["a", "b", "c"]
