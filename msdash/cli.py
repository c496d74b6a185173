"""Command line: ``python -m msdash extract …`` and ``python -m msdash list-extractors``.

``extract`` reads a folder or zip with :func:`msdash.io.load_images`, computes one extractor through the
shared feature store and writes a CSV or Parquet table (rows = images, columns = feature labels). With
``--shard i/n`` it handles every n-th image (sorted names) from ``i``, so n jobs of a cluster fill the
same store and a later run (or the dashboard) reads everything from it. Exit codes: 0 done (images that
failed are NaN rows, reported on stderr), 2 bad arguments.
"""

import argparse
import sys
from pathlib import Path

from msdash.errors import InputError

__all__ = ["main", "build_parser"]

_OUT_TYPES = (".csv", ".parquet")


def build_parser():
    """The argparse parser with one sub-command per task (``cv`` and ``generate`` come later)."""
    parser = argparse.ArgumentParser(prog="python -m msdash", description="msdash without the app.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ext = commands.add_parser("extract", help="compute features for a folder or zip of images",
                              description="Compute one extractor's features for a folder or zip of images.")
    ext.add_argument("source", nargs="+", help="image files, folders or .zip archives")
    ext.add_argument("--extractor", "-e", required=True, help="registry name (see list-extractors)")
    ext.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE",
                     help="extractor parameter, repeatable (e.g. --param cutoff=20)")
    ext.add_argument("--shard", default="0/1", metavar="I/N", help="process every N-th image from I (0-based)")
    ext.add_argument("--out", "-o", required=True, help="output table, .csv or .parquet")
    ext.add_argument("--no-store", action="store_true", help="compute everything, read and write no cache")
    ext.set_defaults(run=_extract)
    lst = commands.add_parser("list-extractors", help="list the extractors and their parameters")
    lst.set_defaults(run=_list_extractors)
    return parser


def main(argv=None):
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except InputError as exc:
        print(f"msdash {args.command}: error: {exc}", file=sys.stderr)
        return 2


def _parse_params(pairs):
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--param must look like KEY=VALUE, got {pair!r}")
        params[key.strip()] = value.strip()
    return params


def _parse_shard(text):
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise InputError(f"--shard must look like I/N (e.g. 0/4), got {text!r}") from None
    if count < 1 or not 0 <= index < count:
        raise InputError(f"--shard I/N needs N >= 1 and 0 <= I < N, got {text!r}")
    return index, count


def _extract(args):
    from msdash.features import extract
    from msdash.features.registry import get_spec, resolve_params
    from msdash.io import load_images

    out = Path(args.out)
    if out.suffix.lower() not in _OUT_TYPES:
        raise InputError(f"--out must end in {' or '.join(_OUT_TYPES)}, got {out.name!r}")
    index, count = _parse_shard(args.shard)
    spec = get_spec(args.extractor)
    params = resolve_params(spec, _parse_params(args.param))  # check before reading any image
    missing = [s for s in args.source if not Path(s).exists()]
    if missing:
        raise InputError(f"no such file or folder: {', '.join(missing)}")
    loaded = load_images(args.source)
    for error in loaded.errors:
        print(f"skipped {error.name}: {error.message}", file=sys.stderr)
    names = sorted(loaded.images)[index::count]
    if not names:
        print(f"msdash extract: no images in shard {index}/{count} "
              f"({len(loaded.images)} read, {len(loaded.errors)} unreadable)", file=sys.stderr)
        return 0
    table = extract({n: loaded.images[n] for n in names}, spec.name, store=False if args.no_store else None,
                    **params)
    for error in table.errors:
        print(f"failed {error.name}: {error.message}", file=sys.stderr)
    frame = table.to_frame()
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        frame.to_csv(out)
    else:
        frame.to_parquet(out)
    p = table.provenance
    print(f"msdash extract: {spec.name} on {len(names)} images (shard {index}/{count}): "
          f"{len(names) - len(table.errors)} ok, {len(table.errors)} failed, {len(loaded.errors)} unreadable, "
          f"{p['store_hits']} from store, {table.values.shape[1]} features → {out}", file=sys.stderr)
    return 0


def _list_extractors(args):
    from msdash.features import EXTRACTORS

    for spec in EXTRACTORS.values():
        params = ", ".join(f"{p.name}={p.default!r}" + (f" {list(p.choices)}" if p.choices else f" ({p.type})")
                           for p in spec.params)
        print(f"{spec.name}\t{spec.kind}\t{spec.title}\t{params or '-'}")
    return 0
