"""Deleting or editing a saved data set (msdash.saved) takes its features along (issue 17 item 4)."""

import json

import numpy as np

from msdash.data.dataset import Dataset
from msdash.data.datastore import list_datasets, load_dataset, save_dataset
from msdash.features import extract
from msdash.features.imported import import_features, load_imported, save_imported
from msdash.features.store import default_store
from msdash.saved import delete_saved as delete_dataset
from msdash.saved import replace_saved as replace_dataset


def _images(n, seed, size=12):
    rng = np.random.default_rng(seed)
    return {f"{seed}-{i}": (rng.random((size, size)) < 0.5).astype(np.float32) for i in range(n)}


def _run(workspace, name, dataset_id):
    run = workspace / "learned" / "cnn" / name
    run.mkdir(parents=True)
    (run / "meta.json").write_text(json.dumps({"dataset_id": dataset_id, "target": "E"}))
    return run


def _bytes_under(folder):
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def test_deleting_a_set_removes_its_tables_rows_imported_features_and_runs(workspace):
    ds = Dataset("d", _images(5, 0))
    ds_id = save_dataset(ds)
    table = extract(ds, "two_point", cutoff=2)
    default_store().save_table_meta(ds_id, table)
    csv = "name,e0\n" + "".join(f"{n},{i}\n" for i, n in enumerate(ds.names))
    save_imported(ds_id, import_features(("e.csv", csv.encode()), ds.names))
    run = _run(workspace, "r1", ds_id)
    assert _bytes_under(workspace / "features") > 0

    delete_dataset(ds_id)
    assert [info.id for info in list_datasets()] == []
    assert default_store().get_many(ds.image_hashes(), table.key) == {}
    assert load_imported(ds_id) == [] and not run.exists()
    again = extract(ds, "two_point", cutoff=2)  # nothing left to reuse: computed afresh, same values
    assert again.provenance["store_hits"] == 0
    np.testing.assert_array_equal(again.values, table.values)


def test_features_of_images_another_set_shares_stay(workspace):
    shared = _images(3, 1)
    a = Dataset("a", {**shared, **_images(2, 2)})
    b = Dataset("b", shared)
    a_id, b_id = save_dataset(a), save_dataset(b)
    table = extract(a, "volume_fraction")
    default_store().save_table_meta(a_id, table)
    delete_dataset(a_id)
    kept = default_store().get_many(b.image_hashes(), table.key)
    assert sorted(kept) == sorted(b.image_hashes())
    assert extract(b, "volume_fraction").provenance["store_hits"] == len(b)
    assert [info.id for info in list_datasets()] == [b_id]


def test_an_edited_table_keeps_features_imported_tables_and_runs(workspace):
    ds = Dataset("d", _images(4, 3))
    ds_id = save_dataset(ds)
    table = extract(ds, "volume_fraction")
    default_store().save_table_meta(ds_id, table)
    csv = "name,e0\n" + "".join(f"{n},{i}\n" for i, n in enumerate(ds.names))
    save_imported(ds_id, import_features(("e.csv", csv.encode()), ds.names))
    run = _run(workspace, "r1", ds_id)
    import pandas as pd

    edited = ds.with_table(pd.DataFrame({"HV": [1.0, 2.0, 3.0, 4.0]}, index=pd.Index(ds.names, name="name")))
    new_id = replace_dataset(ds_id, edited)
    assert new_id != ds_id and [info.id for info in list_datasets()] == [new_id]
    reopened = load_dataset(new_id)
    assert extract(reopened, "volume_fraction").provenance["store_hits"] == len(ds)
    assert [t.labels for t in load_imported(new_id)] == [["e0"]]
    assert json.loads((run / "meta.json").read_text())["dataset_id"] == new_id
