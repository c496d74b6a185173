"""Peak memory of hostile or large inputs (issue 12): prints one JSON line.

- ``zip``: peak RSS of the dashboard server while the browser uploads an amplification zip (16 all-zero
  8000×8000 PNGs, a few kB), and one of 64 such images that passes the default upload budget;
- ``parquet``: peak RSS of importing a 50 M-row Parquet feature table (``bench/_upload_parquet.py``);
- ``shard``: peak RSS of ``python -m msdash extract --shard 0/8`` over 24 images of 4000×4000 against the same
  extractor over only the shard's 3 images (``bench/_upload_shard.py``); goal: ratio ≤ 1.2.

A part that fails reports its error, and the other parts still run. The zip part needs Debian's
``chromium`` (see the README's test command).

    .venv/bin/python bench/upload_memory.py
"""

import importlib
import json
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def amplification_zip_peak():
    """Peak server RSS while the amplification zip is uploaded through the browser (``bench/_upload_zip.py``)."""
    return importlib.import_module("_upload_zip").amplification_zips()


def _parquet(tmpdir):
    if not (BENCH / "_upload_parquet.py").exists():
        return {"todo": True}
    return importlib.import_module("_upload_parquet").parquet_import_peak(tmpdir)


def _shard(tmpdir):
    return importlib.import_module("_upload_shard").shard_peak(tmpdir)


def _guarded(part, *args):
    try:
        return part(*args)
    except Exception as exc:  # noqa: BLE001 — one failing part must not hide the others' figures
        return {"error": f"{type(exc).__name__}: {exc}"}


def main():
    """Run the three parts, each in its own temporary folder; print one JSON line."""
    figures = {}
    for key, part in (("zip", amplification_zip_peak), ("parquet", _parquet), ("shard", _shard)):
        with tempfile.TemporaryDirectory(prefix=f"msdash-bench-{key}-") as tmpdir:
            figures[key] = _guarded(part, *([] if part is amplification_zip_peak else [tmpdir]))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
