"""Editing a saved data set's table vs saving the whole set again (issue 17 item 3), one JSON line.

A set of N uint8 micrographs with a sparse hardness column is saved once; then a derived column is added
through :func:`msdash.saved.replace_saved` (the path the Data page takes). The baseline is what an edit
cost before: re-uploading, i.e. saving the whole set again under a new table (``save_dataset`` of a fresh
Dataset, images rewritten). Both are timed in the same run, in the same fresh workspace; bytes written are
counted from ``/proc/self/io``; peak RSS from ``resource``.

    .venv/bin/python bench/table_edit.py [n_images] [side]
"""

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _written():
    text = Path("/proc/self/io").read_text()
    return int(next(line.split()[1] for line in text.splitlines() if line.startswith("write_bytes")))


def main(n=1000, side=256):
    os.environ["MSDASH_HOME"] = tempfile.mkdtemp(prefix="msdash-bench-")
    import numpy as np
    import pandas as pd

    from msdash.data.dataset import Dataset
    from msdash.data.datastore import load_dataset, save_dataset
    from msdash.saved import replace_saved
    from msdash.derived import add_derived, coalesce
    from msdash.data.imagestore import Images

    rng = np.random.default_rng(0)
    names = [f"P{i % 19:02d}_{i:04d}" for i in range(n)]
    # Kept compact (uint8), as an upload keeps them, for the first save and the baseline alike.
    images = Images({name: (rng.random((side, side)) < 0.4).astype(np.uint8) * 255 for name in names})
    hv = np.where(rng.random(n) < 0.2, rng.uniform(200, 600, n), np.nan)
    gpa = np.where(np.isnan(hv), rng.uniform(2, 6, n), np.nan)
    table = pd.DataFrame({"HV": hv, "H (GPa)": gpa}, index=names)
    first = save_dataset(Dataset("bench", images, table))

    folder = Path(os.environ["MSDASH_HOME"]) / "datasets"
    inode = (folder / first / "images.npz").stat().st_ino
    loaded = load_dataset(first)
    started, written = time.perf_counter(), _written()
    edited = add_derived(loaded, coalesce(loaded.properties, "HV", "H (GPa)", factor=1000 / 9.80665, name="HV all"))
    new_id = replace_saved(first, edited)
    edit_s, edit_mb = time.perf_counter() - started, (_written() - written) / 1e6

    started, written = time.perf_counter(), _written()
    again = table.assign(**{"HV all": edited.properties["HV all"].to_numpy(), "x": 1.0})
    save_dataset(Dataset("bench again", images, again))  # the old way: the whole set saved anew
    baseline_s, baseline_mb = time.perf_counter() - started, (_written() - written) / 1e6

    same_file = (folder / new_id / "images.npz").stat().st_ino == inode and not (folder / first).exists()
    print(json.dumps({"bench": "table_edit", "n_images": n, "side": side,
                      "edit_s": round(edit_s, 3), "edit_written_mb": round(edit_mb, 2),
                      "resave_baseline_s": round(baseline_s, 3), "resave_written_mb": round(baseline_mb, 2),
                      "images_linked_not_rewritten": same_file,
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


if __name__ == "__main__":
    main(*map(int, sys.argv[1:3]))
