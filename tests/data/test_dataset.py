"""Tests of msdash.data.dataset: the Dataset container and its content-addressed workspace store."""

import json
import os
import time

import numpy as np
import pandas as pd
import pytest

from msdash import config
from msdash.data import dataset as dataset_module
from msdash.data import datastore as store_module
from msdash.data.dataset import Dataset, DatasetInfo, demo_dataset
from msdash.data.datastore import delete_dataset, list_datasets, load_dataset, save_dataset
from msdash.errors import InputError, WorkspaceError


@pytest.fixture(autouse=True)
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("MSDASH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _mixed(label="mixed"):
    rng = np.random.default_rng(0)
    images = {
        "grey_01.png": rng.random((5, 7)).astype(np.float32),
        "binary big": (rng.random((12, 9)) > 0.5).astype(np.float32),
        "colour.tif": rng.random((6, 5, 3)).astype(np.float32),  # 4 px wide would read as a volume
        "volume ü": rng.random((3, 4, 5)).astype(np.float32),
    }
    properties = pd.DataFrame(
        {
            "Härte (HV)": [310.5, np.nan, 1e-300, -0.0],
            "count": [1, 2, 3, 4],  # ints become float64
            "paper": ["Smith 2020", None, "", "nan"],
            "σ_y [MPa] / note": [np.nan, np.nan, np.nan, np.nan],
        },
        index=["volume ü", "grey_01.png", "colour.tif", "binary big"],  # any order: re-ordered to images
    )
    return Dataset(label, images, properties, group_column="paper", source="upload", notes=["one note"])


def _assert_same(a, b):
    assert a.names == b.names
    for name in a.names:
        assert a.images[name].dtype == b.images[name].dtype == np.float32
        np.testing.assert_array_equal(a.images[name], b.images[name])
    pd.testing.assert_frame_equal(a.properties, b.properties, check_exact=True)
    assert (a.group_column, a.name, a.source, a.notes) == (b.group_column, b.name, b.source, b.notes)


class TestDataset:
    def test_normalises_contents(self):
        ds = _mixed()
        assert ds.names == ["grey_01.png", "binary big", "colour.tif", "volume ü"]
        assert list(ds.properties.index) == ds.names
        assert ds.properties.loc["volume ü", "Härte (HV)"] == 310.5
        assert ds.numeric_columns == ["Härte (HV)", "count", "σ_y [MPa] / note"]
        assert ds.text_columns == ["paper"]
        assert ds.properties["count"].dtype == np.float64
        assert [ds.kind(n) for n in ds.names] == ["2d", "2d", "rgb", "3d"]
        assert len(ds) == 4

    def test_summary(self):
        summary = _mixed().summary()
        assert summary["n_samples"] == 4
        assert summary["kinds"] == {"2d": 2, "rgb": 1, "3d": 1}
        assert summary["shape_min"] == (5, 7) and summary["shape_max"] == (12, 9)
        assert summary["columns"][0] == "Härte (HV)" and summary["group_column"] == "paper"

    def test_no_properties(self):
        ds = Dataset("plain", {"a": np.zeros((3, 3)), "b": np.ones((3, 3))})
        assert ds.properties.shape == (2, 0) and list(ds.properties.index) == ["a", "b"]
        assert ds.summary()["columns"] == []

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"images": [np.zeros((3, 3))]},
            {"images": {"a": np.zeros(4)}},
            {"images": {"a": np.zeros((2, 2, 2, 2))}},
            {"images": {"a": np.zeros((0, 3))}},
            {"properties": pd.DataFrame({"x": [1.0]}, index=["b"])},
            {"properties": pd.DataFrame({"x": [1.0, 2.0]}, index=["a", "a"])},
            {"properties": pd.DataFrame({0: [1.0]}, index=["a"])},
            {"properties": pd.DataFrame({"x": [1.0]}, index=["a"]), "group_column": "y"},
        ],
    )
    def test_bad_contents(self, kwargs):
        kwargs = {"name": "bad", "images": {"a": np.zeros((3, 3))}, **kwargs}
        with pytest.raises(InputError):
            Dataset(**kwargs)


class TestContentHash:
    def test_same_content_same_id_whatever_the_label(self):
        a, b = _mixed("first"), _mixed("second")
        b.source, b.notes = "generated", []
        assert a.content_hash() == b.content_hash()
        assert len(a.content_hash()) == 16 and int(a.content_hash(), 16) >= 0

    def test_one_pixel_changes_id(self):
        a, b = _mixed(), _mixed()
        b.images["volume ü"][1, 2, 3] += 1e-6
        assert a.content_hash() != b.content_hash()

    def test_properties_order_names_and_group_change_id(self):
        base = _mixed().content_hash()
        renamed = _mixed()
        renamed.images = {("x" if k == "binary big" else k): v for k, v in renamed.images.items()}
        changed = _mixed()
        changed.properties.iloc[1, 2] = ""  # missing -> empty text
        ungrouped = _mixed()
        ungrouped.group_column = None
        hashes = {base, renamed.content_hash(), changed.content_hash(), ungrouped.content_hash()}
        assert len(hashes) == 4


class TestStore:
    def test_round_trip_exact(self, workspace):
        ds = _mixed()
        dataset_id = save_dataset(ds)
        assert dataset_id == ds.content_hash()
        loaded = load_dataset(dataset_id)
        _assert_same(ds, loaded)
        assert loaded.content_hash() == dataset_id
        assert pd.isna(loaded.properties.loc["grey_01.png", "paper"])
        assert loaded.properties.loc["binary big", "paper"] == "nan"
        assert np.signbit(loaded.properties.loc["binary big", "Härte (HV)"])
        files = sorted(p.name for p in (workspace / "datasets" / dataset_id).iterdir())
        assert files == ["images.npz", "meta.json", "properties.parquet"]

    def test_round_trip_without_properties(self):
        ds = Dataset("plain", {"a": np.zeros((3, 3)), "b": np.ones((2, 2, 3))})
        _assert_same(ds, load_dataset(save_dataset(ds)))

    def test_saving_again_is_idempotent(self, workspace):
        dataset_id = save_dataset(_mixed("first"))
        meta = workspace / "datasets" / dataset_id / "meta.json"
        before = meta.stat().st_mtime_ns
        assert save_dataset(_mixed("second label")) == dataset_id
        assert meta.stat().st_mtime_ns == before
        assert load_dataset(dataset_id).name == "first"
        assert [info.id for info in list_datasets()] == [dataset_id]

    def test_list_and_delete(self, monkeypatch):
        first = save_dataset(_mixed())
        # created has one-second resolution: make the second save visibly newer.
        from msdash.data import dataset_entry

        real_now = dataset_entry.datetime.now
        monkeypatch.setattr(
            dataset_entry, "datetime",
            type("_Later", (), {"now": staticmethod(lambda tz: real_now(tz).replace(year=2999))}),
        )
        second = save_dataset(Dataset("plain", {"a": np.zeros((3, 3))}, source="generated"))
        infos = list_datasets()
        assert [info.id for info in infos] == [second, first]
        info = infos[1]
        assert isinstance(info, DatasetInfo)
        expected = ("mixed", 4, "upload", {"2d": 2, "rgb": 1, "3d": 1})
        assert (info.name, info.n_samples, info.source, info.kinds) == expected
        assert info.size_bytes > 4 * 4 * 20 and info.created.endswith("+00:00")
        delete_dataset(second)
        assert [info.id for info in list_datasets()] == [first]
        with pytest.raises(WorkspaceError, match="No saved data set"):
            load_dataset(second)
        with pytest.raises(WorkspaceError, match="No saved data set"):
            delete_dataset(second)

    def test_killed_save_leaves_nothing_listed(self, workspace):
        kept = save_dataset(_mixed())
        root = workspace / "datasets"
        # A save killed half-way: temp folder with partial files and no meta.json.
        partial = root / ".tmp-0123456789abcdef"
        partial.mkdir()
        (partial / "images.npz").write_bytes(b"PK\x03\x04 truncated")
        assert [info.id for info in list_datasets()] == [kept]
        assert partial.exists()  # young: might still be in progress
        old = time.time() - 2 * 3600
        os.utime(partial / "images.npz", (old, old))
        os.utime(partial, (old, old))
        list_datasets()
        assert not partial.exists()
        _assert_same(_mixed(), load_dataset(kept))

    def test_failed_rename_cleans_up(self, workspace, monkeypatch):
        kept = save_dataset(_mixed())

        def broken_rename(src, dst):
            raise OSError("simulated crash during rename")

        with monkeypatch.context() as patch:
            patch.setattr(store_module.os, "rename", broken_rename)
            with pytest.raises(WorkspaceError, match="simulated crash"):
                save_dataset(Dataset("new", {"a": np.zeros((3, 3))}))
        assert sorted(p.name for p in (workspace / "datasets").iterdir()) == [kept]
        assert [info.id for info in list_datasets()] == [kept]
        _assert_same(_mixed(), load_dataset(kept))

    def test_interrupted_write_cleans_up(self, workspace, monkeypatch):
        def full_disk(*args, **kwargs):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(store_module.atomic, "write_bytes", full_disk)
        with pytest.raises(WorkspaceError, match="No space left"):
            save_dataset(_mixed())
        assert list((workspace / "datasets").iterdir()) == []

    @pytest.mark.parametrize(
        "bad_id", ["../etc", "zz", "", "0123456789ABCDEF", "0123456789abcdef\n", "../../0123456789abcdef", None, 12]
    )
    def test_invalid_id(self, bad_id, workspace, tmp_path):
        outside = tmp_path / "etc"
        outside.mkdir()
        (outside / "passwd").write_text("keep me")
        with pytest.raises(WorkspaceError, match="not a data set id"):
            load_dataset(bad_id)
        with pytest.raises(WorkspaceError, match="not a data set id"):
            delete_dataset(bad_id)
        assert (outside / "passwd").read_text() == "keep me"

    @pytest.mark.parametrize(
        "damage", ["garbage", "missing_key", "wrong_id", "no_meta", "bad_npz", "bad_parquet", "no_parquet"]
    )
    def test_damaged_entry_skipped_and_clear_error(self, damage, workspace):
        kept = save_dataset(Dataset("kept", {"a": np.zeros((3, 3))}))
        dataset_id = save_dataset(_mixed())
        folder = workspace / "datasets" / dataset_id
        meta = json.loads((folder / "meta.json").read_text())
        if damage == "garbage":
            (folder / "meta.json").write_text("{not json")
        elif damage == "missing_key":
            del meta["names"]
            (folder / "meta.json").write_text(json.dumps(meta))
        elif damage == "wrong_id":
            meta["id"] = kept
            (folder / "meta.json").write_text(json.dumps(meta))
        elif damage == "no_meta":
            (folder / "meta.json").unlink()
        elif damage == "bad_npz":
            (folder / "images.npz").write_bytes(b"not a zip")
        elif damage == "bad_parquet":
            (folder / "properties.parquet").write_bytes(b"PAR1 broken")
        else:
            (folder / "properties.parquet").unlink()
        assert [info.id for info in list_datasets()] == [kept]
        with pytest.raises(WorkspaceError, match="damaged"):
            load_dataset(dataset_id)
        # Saving the same contents again repairs the entry.
        assert save_dataset(_mixed()) == dataset_id
        _assert_same(_mixed(), load_dataset(dataset_id))

    def test_same_size_corruption_found_on_load(self, workspace):
        dataset_id = save_dataset(_mixed())
        npz = workspace / "datasets" / dataset_id / "images.npz"
        npz.write_bytes(b"\0" * npz.stat().st_size)
        assert [info.id for info in list_datasets()] == [dataset_id]  # listing reads meta.json only
        with pytest.raises(WorkspaceError, match="damaged"):
            load_dataset(dataset_id)

    def test_writes_only_inside_datasets_dir(self, workspace):
        save_dataset(_mixed())
        assert sorted(p.name for p in workspace.iterdir()) == ["datasets"]
        assert config.datasets_dir() == workspace / "datasets"


class TestDemoDataset:
    def test_loads_and_saves(self):
        ds = demo_dataset()
        assert ds.name == "Demo: 300 two-phase microstructures (64×64)"
        assert len(ds) == 300 and ds.names[0] == "demo_000" and ds.names[-1] == "demo_299"
        assert ds.group_column == "family" and ds.source == "demo" and ds.notes == []
        assert ds.summary()["kinds"] == {"2d": 300}
        assert ds.text_columns == ["family"]
        assert "E_x plane strain Voigt bound (GPa)" in ds.numeric_columns
        dataset_id = save_dataset(ds)
        _assert_same(ds, load_dataset(dataset_id))
        assert list_datasets()[0].n_samples == 300

    def test_regenerates_when_files_are_missing(self, tmp_path, monkeypatch, fresh_demo):
        from msdash.synthetic import demo

        images, properties = fresh_demo  # make_demo() with its defaults, run once for the session
        with monkeypatch.context() as patch:
            patch.setattr(dataset_module, "_DEMO_DIR", tmp_path / "nowhere")
            patch.setattr(demo, "make_demo", lambda: (images.copy(), properties.copy()))
            regenerated = demo_dataset()
        assert regenerated.notes and "regenerated" in regenerated.notes[0]
        committed = demo_dataset()
        assert regenerated.image_hashes() == committed.image_hashes()  # the micrographs: bit for bit
        # The homogenised modulus is an iterative FFT solve: its last digit follows the CPU's SIMD paths.
        pd.testing.assert_frame_equal(regenerated.properties, committed.properties, check_exact=False, rtol=1e-12)


class TestDatasetExists:
    def test_saved_missing_and_malformed_ids(self, workspace):
        from msdash.data.datastore import dataset_exists

        saved = save_dataset(Dataset("x", {"a": np.eye(3, dtype=np.float32)}))
        assert dataset_exists(saved)
        assert not dataset_exists("0123456789abcdef")
        assert not dataset_exists("../../etc/passwd") and not dataset_exists(None)


class TestEditSaved:
    """Issue 17 items 3–4: rename a saved set, replace or edit its table without rewriting images."""

    def _saved(self):
        ds = _mixed()
        return ds, save_dataset(ds)

    def test_rename_keeps_id_and_contents(self):
        ds, dataset_id = self._saved()
        assert store_module.rename_dataset(dataset_id, "  Superalloys (HV) <b>  ") == "Superalloys (HV) <b>"
        back = load_dataset(dataset_id)
        assert back.name == "Superalloys (HV) <b>" and back.content_hash() == dataset_id
        pd.testing.assert_frame_equal(back.properties, ds.properties)
        assert [info.name for info in list_datasets()] == ["Superalloys (HV) <b>"]

    @pytest.mark.parametrize("name", ["", "   ", "x" * 201])
    def test_rename_refuses_bad_names(self, name):
        _, dataset_id = self._saved()
        with pytest.raises(InputError, match="1 to 200 characters"):
            store_module.rename_dataset(dataset_id, name)
        assert load_dataset(dataset_id).name == "mixed"

    def test_rename_of_unknown_set(self):
        with pytest.raises(WorkspaceError, match="No saved data set"):
            store_module.rename_dataset("0123456789abcdef", "x")
        self._saved()  # the store exists now; the id still does not
        with pytest.raises(WorkspaceError, match="No saved data set"):
            store_module.rename_dataset("0123456789abcdef", "x")

    def test_replace_table_links_images_and_keeps_features(self, workspace):
        from msdash.derived import add_derived, convert
        from msdash.features.extract import extract

        ds, old_id = self._saved()
        old_images = workspace / "datasets" / old_id / "images.npz"
        inode, mtime = old_images.stat().st_ino, old_images.stat().st_mtime_ns
        first = extract(load_dataset(old_id), "volume_fraction")
        assert first.provenance["store_misses"] == len(ds)
        loaded = load_dataset(old_id)
        edited = add_derived(loaded, convert(loaded.properties, "Härte (HV)", factor=9.80665 / 1000, name="H (GPa)"))
        new_id = store_module.replace_dataset(old_id, edited)
        assert new_id == edited.content_hash() != old_id
        new_images = workspace / "datasets" / new_id / "images.npz"
        # The same file (hard link), never rewritten; the old entry is gone.
        assert (new_images.stat().st_ino, new_images.stat().st_mtime_ns) == (inode, mtime)
        assert not (workspace / "datasets" / old_id).exists()
        back = load_dataset(new_id)
        _assert_same(ds, Dataset(back.name, back.images, back.properties.drop(columns="H (GPa)"),
                                 group_column=back.group_column, source=back.source, notes=back.notes))
        assert back.derived == {"H (GPa)": "H (GPa) = 0.00980665 × [Härte (HV)]"}
        assert back.properties.loc["volume ü", "H (GPa)"] == pytest.approx(310.5 * 9.80665 / 1000, rel=1e-12)
        again = extract(back, "volume_fraction")
        assert again.provenance["store_misses"] == 0 and again.provenance["store_hits"] == len(ds)
        np.testing.assert_array_equal(again.values, first.values)

    def test_replace_moves_imported_features(self):
        from msdash.features.imported import import_features, list_imported, load_imported, save_imported

        ds, old_id = self._saved()
        csv = "name,e0\n" + "".join(f"{n},{i}\n" for i, n in enumerate(ds.names))
        save_imported(old_id, import_features(("emb.csv", csv.encode()), ds.names))
        loaded = load_dataset(old_id)
        edited = Dataset(loaded.name, loaded.images, loaded.properties.drop(columns="count"),
                         group_column="paper", source=loaded.source, notes=loaded.notes)
        from msdash.saved import replace_saved

        new_id = replace_saved(old_id, edited)  # the data store alone keeps entries; saved moves the rest
        assert list_imported(new_id) == ["emb.csv"] and list_imported(old_id) == []
        assert load_imported(new_id, "emb.csv").values[:, 0].tolist() == [0.0, 1.0, 2.0, 3.0]

    def test_replace_with_only_a_new_name_keeps_the_id(self):
        _, old_id = self._saved()
        loaded = load_dataset(old_id)
        loaded.name = "renamed"
        assert store_module.replace_dataset(old_id, loaded) == old_id
        assert load_dataset(old_id).name == "renamed"

    def test_replace_refuses_other_images(self):
        _, old_id = self._saved()
        other = Dataset("x", {"a": np.zeros((2, 2))})
        with pytest.raises(InputError, match="only its table can change"):
            store_module.replace_dataset(old_id, other)
        assert load_dataset(old_id).name == "mixed"

    def test_keep_old(self):
        _, old_id = self._saved()
        loaded = load_dataset(old_id)
        edited = Dataset(loaded.name, loaded.images, loaded.properties.drop(columns="count"), group_column="paper")
        new_id = store_module.replace_dataset(old_id, edited, keep_old=True)
        assert {info.id for info in list_datasets()} == {old_id, new_id}

    def test_entries_saved_before_derived_columns_still_load(self, workspace):
        ds, dataset_id = self._saved()
        meta_path = workspace / "datasets" / dataset_id / "meta.json"
        meta = json.loads(meta_path.read_text())
        del meta["derived"]
        meta_path.write_text(json.dumps(meta))
        assert load_dataset(dataset_id).derived == {} and [i.id for i in list_datasets()] == [dataset_id]

    def test_derived_naming_an_unknown_column_is_damage(self, workspace):
        ds, dataset_id = self._saved()
        meta_path = workspace / "datasets" / dataset_id / "meta.json"
        meta = json.loads(meta_path.read_text())
        meta["derived"] = {"no such column": "x = 1"}
        meta_path.write_text(json.dumps(meta))
        assert list_datasets() == []
        with pytest.raises(WorkspaceError, match="damaged"):
            load_dataset(dataset_id)


class TestWithTable:
    def test_same_hash_as_a_fresh_build_and_images_hashed_once(self):
        ds = _mixed()
        ds.content_hash()
        table = ds.properties.drop(columns="count")
        edited = ds.with_table(table, group_column="paper", derived={})
        assert edited._images_digest is not None  # reused: the images are not hashed again
        fresh = Dataset("other", {n: ds.images[n] for n in ds.names}, table, group_column="paper")
        assert edited.content_hash() == fresh.content_hash() != ds.content_hash()
        assert ds.content_hash() == _mixed().content_hash()  # the original's id is untouched by the copy
        assert edited.notes == ds.notes and edited.name == ds.name and edited.source == ds.source
