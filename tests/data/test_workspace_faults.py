"""A workspace that cannot be written: what exists is shown, saving says why, nothing crashes.

The tests run as root here, and root ignores permission bits. So the workspace is made read-only with
chmod and, when running as root, the code under test runs in a forked child that has dropped to the
``nobody`` user: the kernel then really refuses every write, exactly as on a shared server whose
workspace belongs to someone else. Each test also checks that the refusal is real.
"""

import json
import os
import shutil
import stat
import tempfile
import traceback

import numpy as np
import pytest

from msdash.data import datastore
from msdash.data.dataset import Dataset
from msdash.data.datastore import list_datasets, load_dataset, save_dataset
from msdash.errors import WorkspaceError
from msdash.features import extract, tablecache
from msdash.features.store import FeatureStore, default_store, extractor_key

NOBODY = 65534


@pytest.fixture
def home(monkeypatch):
    # Not pytest's tmp_path: its parents are private to root, and `nobody` must reach the workspace.
    root = tempfile.mkdtemp(prefix="msdash-ro-")
    os.chmod(root, 0o755)
    monkeypatch.setenv("MSDASH_HOME", os.path.join(root, "home"))
    yield os.path.join(root, "home")
    _set_writable(root, True)
    shutil.rmtree(root)


def _set_writable(root, writable):
    for folder, dirs, files in os.walk(root):
        os.chmod(folder, 0o755 if writable else 0o555)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, 0o644 if writable else 0o444)


def read_only(home, observe):
    """Run ``observe()`` with ``home`` read-only for it; return what it returned (JSON-able).

    As ``nobody`` the child cannot read this interpreter's standard library (it lives under /root):
    whatever ``observe`` imports lazily must be imported before (the tests call the same code once).
    """
    import encodings.cp437  # noqa: F401  (zip member names, read by np.load)

    os.makedirs(home, exist_ok=True)
    _set_writable(home, False)
    try:
        if os.geteuid() != 0:
            return _checked(home, observe)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: drop root, observe, report through the pipe, never return into pytest
            try:
                os.close(read_end)
                try:
                    os.setgroups([])
                    os.setgid(NOBODY)
                    os.setuid(NOBODY)
                except PermissionError as exc:
                    result = {"skip": f"cannot drop root privileges: {exc}"}
                else:
                    try:
                        result = _checked(home, observe)
                    except BaseException:
                        result = {"crash": traceback.format_exc()}
                os.write(write_end, json.dumps(result, default=str).encode())
            finally:
                os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            text = pipe.read()
        os.waitpid(pid, 0)
        result = json.loads(text)
    finally:
        _set_writable(home, True)
    if "skip" in result:
        pytest.skip(result["skip"])
    assert "crash" not in result, result.get("crash")
    return result["observed"]


def _checked(home, observe):
    try:  # the simulation must be real: this process may not create a file in the workspace
        open(os.path.join(home, "probe"), "w").close()
        honest = False
    except OSError:
        honest = True
    assert honest, "the workspace was writable: the test would prove nothing"
    return {"observed": observe()}


def _dataset(label="steel", seed=0, n=3):
    rng = np.random.default_rng(seed)
    return Dataset(label, {f"m{i}.png": (rng.random((16, 16)) > 0.5).astype(np.float32) for i in range(n)})


def _snapshot(home):
    return sorted(os.path.relpath(os.path.join(f, n), home) for f, ds, fs in os.walk(home) for n in ds + fs)


class TestFeatureStore:
    @pytest.mark.parametrize("open_elsewhere", [False, True], ids=["closed", "open-elsewhere"])
    def test_reads_what_is_stored_and_refuses_writes(self, home, open_elsewhere):
        store = FeatureStore()
        key = extractor_key("toy", {}, "1")
        store.put_many(key, [("a", np.arange(3.0), None), ("b", None, "too dark")])
        keep = None
        if open_elsewhere:  # another server still has it open: -wal and -shm exist (mode=ro then works)
            import sqlite3

            keep = sqlite3.connect(store.path)
            keep.execute("SELECT COUNT(*) FROM features").fetchone()

        def observe():
            ro = default_store()
            found = ro.get_many(["a", "b", "c"], key)
            out = {"read_only": ro.read_only, "uri": ro._uri, "count": ro.count(key),
                   "a": found["a"].values.tolist(), "b": found["b"].error, "c": "c" in found}
            for name, write in [("put", lambda: ro.put_many(key, [("c", np.ones(2), None)])),
                                ("clear", lambda: ro.clear())]:
                try:
                    write()
                    out[name] = "no error"
                except WorkspaceError as exc:
                    out[name] = str(exc)
            return out

        before = _snapshot(home)
        out = read_only(home, observe)
        after = _snapshot(home)
        if keep is not None:
            keep.close()
        assert out["a"] == [0.0, 1.0, 2.0] and out["b"] == "too dark" and out["c"] is False
        assert out["count"] == 2
        assert "read-only" in out["read_only"] and "MSDASH_HOME" in out["read_only"]
        assert out["uri"].endswith("?mode=ro" if open_elsewhere else "?immutable=1")
        assert out["put"] == out["clear"] == out["read_only"]
        assert after == before
        assert FeatureStore().count() == 2  # nothing was cleared

    def test_nothing_stored_yet_is_an_empty_store(self, home):
        def observe():
            ro = FeatureStore()
            return {"read_only": ro.read_only, "found": len(ro.get_many(["a"], "k")), "tables": ro.list_tables("x"),
                    "count": ro.count(), "datasets": list_datasets(), "problem": datastore.workspace_problem()}

        out = read_only(home, observe)
        assert out["found"] == out["count"] == 0 and out["tables"] == [] and out["datasets"] == []
        assert "read-only" in out["read_only"]
        assert out["problem"].startswith(f"The workspace {home} is read-only") and "MSDASH_HOME" in out["problem"]
        assert not os.path.exists(os.path.join(home, "features"))

    def test_wal_name_taken_by_a_folder(self, home):
        # Fails for any user: the write-ahead log cannot be created, yet the rows can still be read.
        store = FeatureStore()
        store.put_many("k", [("a", np.ones(2), None)])
        os.mkdir(f"{store.path}-wal")
        ro = FeatureStore()
        assert ro.read_only is not None and "cannot be written" in ro.read_only
        assert ro.get_many(["a"], "k")["a"].values.tolist() == [1.0, 1.0]
        with pytest.raises(WorkspaceError, match="MSDASH_HOME"):
            ro.put_many("k", [("b", np.ones(2), None)])

    def test_features_path_is_a_file(self, home):
        os.makedirs(home)
        open(os.path.join(home, "features"), "w").close()
        store = FeatureStore()
        assert store.get_many(["a"], "k") == {} and store.list_tables("x") == []
        table = extract(_dataset(), "volume_fraction", store=False)
        with pytest.raises(WorkspaceError, match="cannot be stored"):
            store.save_table_meta("x", table)

    def test_writable_workspace_has_no_problem(self, home):
        assert FeatureStore().read_only is None
        assert datastore.workspace_problem() is None


class TestExtract:
    def test_stored_features_are_shown_and_new_ones_computed_without_storing(self, home):
        ds = _dataset()
        save_dataset(ds)
        stored = extract(ds, "volume_fraction")
        extract(ds, "two_point", cutoff=2, store=False)  # imports its modules here: `nobody` cannot read them all

        def observe():
            again = extract(ds, "volume_fraction")
            fresh = extract(ds, "two_point", cutoff=2)  # never computed: computed, not stored
            try:
                default_store().save_table_meta(ds.content_hash(), fresh)
                meta = "no error"
            except WorkspaceError as exc:
                meta = str(exc)
            return {"values": again.values.tolist(), "cached": again.provenance.get("table_cache", False),
                    "fresh_shape": list(fresh.values.shape), "fresh_error": fresh.provenance.get("store_error"),
                    "meta": meta}

        before = _snapshot(home)
        out = read_only(home, observe)
        assert out["values"] == stored.values.tolist() and out["cached"] is True
        assert out["fresh_shape"][0] == 3 and "read-only" in out["fresh_error"]
        assert "read-only" in out["meta"] and "MSDASH_HOME" in out["meta"]
        assert _snapshot(home) == before


class TestTableCache:
    def test_load_works_and_save_reports_false(self, home):
        ds = _dataset()
        table = extract(ds, "volume_fraction", store=False)
        key = f"{ds.content_hash()}-{table.key}"
        other = f"{'0' * 16}-{table.key}"
        assert tablecache.save_table(key, table)

        def observe():
            loaded = tablecache.load_table(key)
            return {"values": np.asarray(loaded["values"]).tolist(), "saved": tablecache.save_table(other, table),
                    "other": tablecache.load_table(other)}

        before = _snapshot(home)
        out = read_only(home, observe)
        assert out["values"] == table.values.tolist()
        assert out["saved"] is False and out["other"] is None
        assert _snapshot(home) == before


class TestDatastore:
    def test_lists_and_loads_but_saving_new_data_says_why(self, home):
        kept = save_dataset(_dataset("steel"))

        def observe():
            out = {"listed": [(i.id, i.name) for i in list_datasets()],
                   "loaded": load_dataset(kept).images["m0.png"].tolist(),
                   "same_again": save_dataset(_dataset("copper"))}  # already saved: no write needed
            try:
                save_dataset(_dataset("new one", seed=1))
                out["error"] = "no error"
            except WorkspaceError as exc:
                out["error"] = str(exc)
            return out

        before = _snapshot(home)
        out = read_only(home, observe)
        assert out["listed"] == [[kept, "steel"]]
        assert out["loaded"] == _dataset().images["m0.png"].tolist()
        assert out["same_again"] == kept
        assert out["error"].startswith(f"The workspace {home} is read-only")
        assert "'new one' cannot be saved" in out["error"] and "MSDASH_HOME" in out["error"]
        assert _snapshot(home) == before  # no temp folder, no lock file left

    def test_empty_read_only_workspace(self, home):
        def observe():
            listed = list_datasets()
            try:
                save_dataset(_dataset())
                return listed, "no error"
            except WorkspaceError as exc:
                return listed, str(exc)

        listed, error = read_only(home, observe)
        assert listed == [] and "is read-only" in error
        assert os.listdir(home) == []

    def test_permission_bits_restored(self, home):
        # The helper must hand the workspace back writable (the fixture removes it afterwards).
        read_only(home, lambda: None)
        assert stat.S_IMODE(os.stat(home).st_mode) == 0o755
