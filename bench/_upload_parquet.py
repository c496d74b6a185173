"""Part (b) of ``bench/upload_memory.py``: "Import a feature table" given a 50 M-row Parquet file.

The file holds one dictionary-coded name column and one constant feature column in 50 row groups of
1 M rows, so it is a few hundred kB (the issue's was 363 kB) yet would take over a gigabyte to read. The
import runs in a child process so that its peak RSS is that of the import alone, next to the same
child's RSS before the call (interpreter, numpy, pandas and pyarrow imported).
"""

import io
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, resource, sys, time
import pyarrow.parquet  # noqa: F401  (imported before the baseline, as the server has it loaded)
from msdash.errors import InputError
from msdash.features.imported import import_features

def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != "darwin" else 1024**2)

names = [f"img_{i}" for i in range(int(sys.argv[3]))]
baseline = rss_mb()
started = time.perf_counter()
try:
    table = import_features(sys.argv[2], names)
    refused, message = False, f"imported {table.values.shape[0]} samples x {table.values.shape[1]} features"
except InputError as exc:
    refused, message = True, str(exc)
print(json.dumps({"refused": refused, "message": message, "seconds": round(time.perf_counter() - started, 3),
                  "baseline_rss_mb": round(baseline, 1), "peak_rss_mb": round(rss_mb(), 1)}))
"""


def fifty_million_row_parquet(path, *, rows=50_000_000, row_group=1_000_000):
    """Write the Parquet file of ``rows`` rows to ``path``; return its size in bytes."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    block = pa.table({"name": pa.DictionaryArray.from_arrays(pa.array(np.zeros(row_group, np.int32)),
                                                             pa.array(["img_0"])),
                      "f0": pa.array(np.zeros(row_group))})
    buffer = io.BytesIO()
    with pq.ParquetWriter(buffer, block.schema) as writer:
        for _ in range(rows // row_group):
            writer.write_table(block)
    Path(path).write_bytes(buffer.getvalue())
    return Path(path).stat().st_size


def parquet_import_peak(tmpdir, *, n_samples=24, timeout_s=600):
    """Import the 50 M-row Parquet file for a small data set in a child process; return its figures.

    Parameters
    ----------
    tmpdir : str or path
        Folder for the Parquet file.
    n_samples : int
        Size of the data set the table is imported for.

    Returns
    -------
    dict
        ``parquet_rows``, ``parquet_bytes``, ``n_samples``, ``refused`` (the import said no),
        ``message`` (its InputError, or what was imported), ``seconds`` (the ``import_features`` call),
        ``baseline_rss_mb`` (the child before the call) and ``peak_rss_mb`` (the child's peak RSS,
        ``ru_maxrss``, at the end).
    """
    path = Path(tmpdir) / "fifty_million_rows.parquet"
    rows = 50_000_000
    size = fifty_million_row_parquet(path, rows=rows)
    done = subprocess.run([sys.executable, "-c", _CHILD, str(ROOT), str(path), str(n_samples)],
                          capture_output=True, text=True, timeout=timeout_s, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"the import child failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    child = json.loads(done.stdout.strip().splitlines()[-1])
    return {"parquet_rows": rows, "parquet_bytes": size, "n_samples": n_samples, **child}


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        print(json.dumps(parquet_import_peak(folder)))
