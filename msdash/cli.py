"""Command line: ``msdash app|extract|merge|cv|generate|list-extractors …`` (also ``python -m msdash …``).

``app`` serves the dashboard (:func:`msdash.launcher.run_app`), opened on the demo, until Ctrl-C; ``--port``,
``--address`` and ``--workspace`` say where, and flags after ``--`` go to ``streamlit run``.

``generate`` makes a data set with :func:`msdash.synthetic.generate.generate_dataset` (``two-phase``, ``disks``,
``lamellae``, ``ising`` or ``cahn-hilliard``; ``--param KEY=VALUE`` converted by the generator's typed parameters in
:data:`msdash.synthetic.generate.GENERATORS`), saves it in the workspace (printing its id, so the dashboard lists it)
and, with ``--out FILE.zip``, exports the images and ``properties.csv``.

``extract`` lists a folder or zip (:func:`msdash.data.sources.list_images`: names only), computes one extractor
through the shared feature store and writes a CSV or Parquet table (rows = images, columns = feature labels). With
``--shard i/n`` it handles every n-th image file (sorted sample names) from ``i``, so n jobs of a cluster fill the
same store and a later run (or the dashboard) reads everything from it. Only the shard's own files are decoded, in
blocks that fit ``MSDASH_MEMORY_BUDGET`` bytes (default a quarter of the RAM), so peak memory follows one block, not
the folder; a file that cannot be decoded is reported by the shard that owns it. Exit codes: 0 done (images that
failed are NaN rows, reported on stderr), 2 bad arguments. ``--engine ray`` fans the images out over a Ray cluster
(``map_batches`` workers running the same extractor into the same store, which must then be on a shared file system),
then builds the table from the store exactly as a single process would.

``merge`` joins the tables of ``extract --shard i/n`` runs into the single-process table: same rows in
sorted-name order, same columns, same values (a shard whose columns differ, or a name in two shards, is an
error).

``cv`` runs :func:`msdash.models.nested_cv` on a feature table (CSV or Parquet, as ``extract`` writes it):
the first CSV column (the Parquet index) holds the sample names, every other column is a numeric feature —
except ``--target`` and ``--groups``, which are read from the same table or, with ``--properties FILE``, from a
second table keyed the same way (first column = name) and matched to the features by exact name. Samples
without a target, or with a NaN feature (images that failed), are left out and counted on stderr. The JSON
written to ``--out`` holds the settings, sample names, fold scores, chosen parameters, out-of-fold
predictions, per-fold metrics and their summary.
"""

import argparse
import sys
from pathlib import Path

from msdash.errors import InputError

__all__ = ["main", "build_parser"]

_OUT_TYPES = (".csv", ".parquet")


def build_parser():
    """The argparse parser with one sub-command per task."""
    parser = argparse.ArgumentParser(prog="msdash", description="The msdash dashboard, and its work without the app.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    app = commands.add_parser("app", help="serve the dashboard (opens on the demo)",
                              description="Serve the dashboard until Ctrl-C; it opens on the built-in demo.")
    app.add_argument("--port", type=int, help="TCP port (default 8501)")
    app.add_argument("--address", help="address to listen on (default: all interfaces)")
    app.add_argument("--workspace", help="workspace folder (default: $MSDASH_HOME or ~/.msdash)")
    app.add_argument("streamlit_args", nargs=argparse.REMAINDER, metavar="-- FLAG",
                     help="more `streamlit run` flags, e.g. -- --server.headless=false")
    app.set_defaults(run=_app)
    ext = commands.add_parser("extract", help="compute features for a folder or zip of images",
                              description="Compute one extractor's features for a folder or zip of images.")
    ext.add_argument("source", nargs="+", help="image files, folders or .zip archives")
    ext.add_argument("--extractor", "-e", required=True, help="registry name (see list-extractors)")
    ext.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE",
                     help="extractor parameter, repeatable (e.g. --param cutoff=20)")
    ext.add_argument("--shard", default="0/1", metavar="I/N", help="process every N-th image from I (0-based)")
    ext.add_argument("--out", "-o", required=True, help="output table, .csv or .parquet")
    ext.add_argument("--no-store", action="store_true", help="compute everything, read and write no cache")
    ext.add_argument("--engine", choices=("local", "ray"), default="local",
                     help="ray: compute on a Ray cluster (RAY_ADDRESS, else a local instance) into the store first")
    ext.add_argument("--ray-workers", type=int, default=2, metavar="N", help="Ray workers (actors) computing")
    ext.add_argument("--ray-gpus", type=float, default=0, metavar="G", help="GPUs per Ray worker")
    ext.set_defaults(run=_extract)
    mrg = commands.add_parser("merge", help="join the tables of extract --shard runs into one",
                              description="Join shard tables (CSV or Parquet, as extract writes them) into the "
                                          "table one process would have written.")
    mrg.add_argument("parts", nargs="+", help="shard tables, .csv or .parquet")
    mrg.add_argument("--out", "-o", required=True, help="output table, .csv or .parquet")
    mrg.set_defaults(run=_merge)
    cv = commands.add_parser("cv", help="nested cross-validation of a regressor on a feature table",
                             description="Nested cross-validation (outer folds scored, inner folds choose the "
                                         "number of PCs or the hyper-parameters) of one model preset.")
    cv.add_argument("features", help="feature table, .csv (first column = name) or .parquet (index = name)")
    cv.add_argument("--target", "-t", required=True, help="column with the property to predict")
    cv.add_argument("--properties", help="table with the target (and groups) columns, first column = name; "
                                         "default: the feature table itself")
    cv.add_argument("--model", "-m", default="pr",
                    help="model preset (pr, lr, svr, ridge, pca-rbf-svr, rbf-svr, pcr, knn)")
    cv.add_argument("--groups", "-g", help="column of group labels: a group never spans train and test")
    cv.add_argument("--outer", default="10", help='outer folds, or "logo" (leave one group out)')
    cv.add_argument("--inner", type=int, default=5, help="inner folds")
    cv.add_argument("--n-components", metavar="LIST", help='candidate numbers of PCs: "1-12" or "2,4,8"')
    cv.add_argument("--scoring", default="mape", help="mape (reported in %%), rmse or r2")
    cv.add_argument("--standardize", action="store_true", help="standardise the features first")
    cv.add_argument("--seed", type=int, default=42, help="seed of the splits and searches")
    cv.add_argument("--jobs", type=int, default=None, help="outer folds in parallel (joblib n_jobs)")
    cv.add_argument("--out", "-o", required=True, help="result file, .json")
    cv.set_defaults(run=_cv)
    gen = commands.add_parser("generate", help="generate a data set with physics and save it in the workspace",
                              description="Generate a data set (two-phase, disks or lamellae + FFT stiffness, Ising, "
                                          "Cahn–Hilliard), save it in the workspace (printing its id) and "
                                          "optionally export it.")
    gen.add_argument("kind", help="two-phase, disks, lamellae, ising or cahn-hilliard")
    gen.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE",
                     help="generator parameter, repeatable (e.g. --param n=100)")
    gen.add_argument("--out", "-o", help="also write a .zip of the images (PNG/NPY) and properties.csv")
    gen.set_defaults(run=_generate)
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


def _app(args):
    from msdash.launcher import run_app

    extra = [a for a in args.streamlit_args if a != "--"]
    return run_app(args.port, args.address, extra, workspace=args.workspace)


def _parse_params(pairs):
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--param must look like KEY=VALUE, got {pair!r}")
        params[key.strip()] = value.strip()
    return params


def _generate(args):
    import zipfile

    from msdash.data.datastore import save_dataset
    from msdash.selection import selection_zip
    from msdash.synthetic.generate import GENERATORS, generate_dataset

    if args.kind not in GENERATORS:
        raise InputError(f"unknown generator {args.kind!r}; choose one of {', '.join(GENERATORS)}")
    # the generator's Params convert the text (and name the valid keys), as the Data page's widgets use them
    params = GENERATORS[args.kind].resolve(_parse_params(args.param), kind=args.kind)
    if args.out and not args.out.lower().endswith(".zip"):
        raise InputError(f"--out must end in .zip, got {args.out!r}")

    def progress(done, total, message=""):
        print(f"\r{done}/{total} {message}", end="", file=sys.stderr, flush=True)

    dataset = generate_dataset(args.kind, progress=progress, **params)
    dataset_id = save_dataset(dataset)
    print(file=sys.stderr)
    if args.out:
        Path(args.out).write_bytes(selection_zip(dataset, dataset.names))
        with zipfile.ZipFile(args.out, "a") as archive:
            archive.writestr("properties.csv", dataset.properties.to_csv(index_label="name"))
    print(f"{dataset_id}\t{dataset.name}\t{len(dataset)} samples")
    return 0


def _parse_shard(text):
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise InputError(f"--shard must look like I/N (e.g. 0/4), got {text!r}") from None
    if count < 1 or not 0 <= index < count:
        raise InputError(f"--shard I/N needs N >= 1 and 0 <= I < N, got {text!r}")
    return index, count


def _extract(args):
    from msdash.features.registry import fit_to_sizes, get_spec, resolve_params
    from msdash.data.sources import header_shapes, list_images, memory_budget
    from msdash.streamed import extract_streamed

    out = Path(args.out)
    if out.suffix.lower() not in _OUT_TYPES:
        raise InputError(f"--out must end in {' or '.join(_OUT_TYPES)}, got {out.name!r}")
    index, count = _parse_shard(args.shard)
    spec = get_spec(args.extractor)
    params = resolve_params(spec, _parse_params(args.param))  # check before reading any image
    missing = [s for s in args.source if not Path(s).exists()]
    if missing:
        raise InputError(f"no such file or folder: {', '.join(missing)}")
    if args.engine == "ray" and args.no_store:
        raise InputError("--engine ray needs the feature store (its workers write there); drop --no-store")
    budget = memory_budget()
    # Names only: the shard decodes its own share, block by block, never the whole folder.
    listing = list_images(args.source)
    for error in listing.errors:
        print(f"skipped {error.name}: {error.message}", file=sys.stderr)
    if spec.size_rule is not None:
        # Decided on the whole listing, from headers, before any work: every shard then uses the same
        # parameters (one two-point cutoff for images of several sizes), so their tables merge. Reads every
        # file's header (no pixels); extractors without a size rule open only the shard's files.
        params, note = fit_to_sizes(spec, params, header_shapes(listing.slots))
        if note:
            print(f"msdash extract: {note}", file=sys.stderr)
    slots = listing.slots[index::count]

    def ray_fill(images):
        from msdash.features.distributed import extract_on_ray

        done, failed = extract_on_ray(images, spec.name, params, workers=args.ray_workers, gpus=args.ray_gpus)
        print(f"msdash extract: Ray workers computed {done + failed} images ({failed} failed) into the "
              "feature store", file=sys.stderr)

    table, unreadable = None, []
    if slots:
        table, unreadable = extract_streamed(
            slots, spec.name, budget=budget, store=False if args.no_store else None,
            before_extract=ray_fill if args.engine == "ray" else None,
            report=lambda error: print(f"skipped {error.name}: {error.message}", file=sys.stderr),
            notify=lambda text: print(f"msdash extract: {text}", file=sys.stderr), **params)
    unreadable = len(listing.errors) + len(unreadable)
    if table is None:
        print(f"msdash extract: no images in shard {index}/{count} "
              f"({len(slots)} of {len(listing.slots)} listed, {unreadable} unreadable)", file=sys.stderr)
        return 0
    for error in table.errors:
        print(f"failed {error.name}: {error.message}", file=sys.stderr)
    _write_frame(table.to_frame(), out)
    p = table.provenance
    n = len(table.names)
    print(f"msdash extract: {spec.name} on {n} images (shard {index}/{count}): "
          f"{n - len(table.errors)} ok, {len(table.errors)} failed, {unreadable} unreadable, "
          f"{p['store_hits']} from store, {table.values.shape[1]} features → {out}", file=sys.stderr)
    return 0


def _write_frame(frame, out):
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        frame.to_csv(out)
    else:
        frame.to_parquet(out)


def _merge(args):
    import pandas as pd

    out = Path(args.out)
    if out.suffix.lower() not in _OUT_TYPES:
        raise InputError(f"--out must end in {' or '.join(_OUT_TYPES)}, got {out.name!r}")
    parts = [_read_table(part, "PARTS") for part in args.parts]
    columns = list(parts[0].columns)
    for path, frame in zip(args.parts, parts):
        if list(frame.columns) != columns:
            raise InputError(f"{path} has other columns than {args.parts[0]}: not shards of one extract run")
    merged = pd.concat(parts)
    twice = merged.index[merged.index.duplicated()].unique()
    if len(twice):
        raise InputError(f"{len(twice)} sample(s) are in more than one part, e.g. {twice[0]!r}")
    merged = merged.loc[sorted(merged.index)]
    merged.index.name = parts[0].index.name
    _write_frame(merged, out)
    print(f"msdash merge: {len(parts)} parts, {len(merged)} samples × {len(columns)} features → {out}",
          file=sys.stderr)
    return 0


def _list_extractors(args):
    from msdash.features import EXTRACTORS

    for spec in EXTRACTORS.values():
        params = ", ".join(f"{p.name}={p.default!r}" + (f" {list(p.choices)}" if p.choices else f" ({p.type})")
                           for p in spec.params)
        print(f"{spec.name}\t{spec.kind}\t{spec.title}\t{params or '-'}")
    return 0


def _read_table(path, what):
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what}: no such file {str(path)!r}")
    suffix = path.suffix.lower()
    if suffix not in _OUT_TYPES:
        raise InputError(f"{what} must be .csv or .parquet, got {path.name!r}")
    try:
        frame = pd.read_csv(path, index_col=0) if suffix == ".csv" else pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 — any parse failure is the user's file to fix
        raise InputError(f"{what} {path.name!r} could not be read: {exc}") from None
    frame.index = frame.index.astype(str).str.strip()
    return frame


def _parse_candidates(text):
    if text is None:
        return None
    try:
        if "-" in text:
            low, high = (int(part) for part in text.split("-"))
            return list(range(low, high + 1))
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise InputError(f'--n-components must look like "1-12" or "2,4,8", got {text!r}') from None


def _cv(args):
    import json

    import numpy as np

    from msdash.data.atomic import write_file_atomic
    from msdash.models import nested_cv

    out = Path(args.out)
    if out.suffix.lower() != ".json":
        raise InputError(f"--out must end in .json, got {out.name!r}")
    outer = args.outer if args.outer == "logo" else _parse_int(args.outer, "--outer")
    features = _read_table(args.features, "FEATURES")
    labels = _read_table(args.properties, "--properties") if args.properties else features
    for column, flag in ((args.target, "--target"), (args.groups, "--groups")):
        if column is not None and column not in labels.columns:
            where = "--properties" if args.properties else "FEATURES"
            raise InputError(f"{flag} {column!r} is not a column of {where} "
                             f"(columns: {', '.join(map(str, labels.columns[:10]))}…)")
    columns = [c for c in features.columns if c not in (args.target, args.groups)]
    bad = [str(c) for c in columns if not np.issubdtype(features[c].dtype, np.number)]
    if bad:
        raise InputError(f"FEATURES has non-numeric columns {', '.join(bad[:5])}; remove them or name them "
                         "with --target / --groups")
    n_features, n_rows = len(columns), len(features)
    # one float64 array of the feature columns (a view when the table is one float block), and at most one
    # copy of the kept rows: the table is 1.5 GB for 45,000 × 4,225 features
    values = (features[columns] if len(columns) < features.shape[1] else features).to_numpy(dtype=float)
    in_labels = features.index.isin(labels.index)
    names = features.index[in_labels]
    target = labels[args.target].reindex(names).apply(_as_number).to_numpy(dtype=float)
    finite = _finite_rows(values)
    keep_mask = in_labels.copy()
    keep_mask[in_labels] = np.isfinite(target) & finite[in_labels]
    keep = list(features.index[keep_mask])
    print(f"msdash cv: {len(keep)} samples ({n_rows - len(names)} without a row in the target table, "
          f"{len(names) - len(keep)} with a missing target or NaN features left out)", file=sys.stderr)
    groups = labels[args.groups].reindex(keep).astype(str).to_numpy() if args.groups else None
    del features, labels
    X = values if keep_mask.all() else values[keep_mask]
    del values
    result = nested_cv(X, target[keep_mask[in_labels]], model=args.model,
                       n_components=_parse_candidates(args.n_components), outer=outer, inner=args.inner,
                       groups=groups, scoring=args.scoring, random_state=args.seed, n_jobs=args.jobs,
                       standardize=args.standardize)
    payload = {"features": str(args.features), "target": args.target, "groups": args.groups,
               "outer": outer, "inner": args.inner, "seed": args.seed, "n_features": n_features,
               "names": keep, **result.to_dict()}
    out.parent.mkdir(parents=True, exist_ok=True)
    write_file_atomic(out, json.dumps(payload, indent=1, default=float).encode())
    summary = result.summary()
    print(f"msdash cv: {args.model} on {len(keep)} × {n_features}: MAPE {summary['mape_pct']['mean']:.2f} "
          f"± {summary['mape_pct']['std']:.2f} %, R² {summary['r2']['mean']:.3f} over {len(result.folds)} folds "
          f"→ {out}", file=sys.stderr)
    return 0


def _finite_rows(values, step=4096):
    """Rows of ``values`` whose entries are all finite, checked a block of rows at a time."""
    import numpy as np

    finite = np.ones(len(values), dtype=bool) if len(values) else np.zeros(0, dtype=bool)
    for start in range(0, len(values), step):
        finite[start:start + step] = np.isfinite(values[start:start + step]).all(axis=1)
    return finite


def _parse_int(text, flag):
    try:
        return int(text)
    except ValueError:
        raise InputError(f'{flag} must be an integer or "logo", got {text!r}') from None


def _as_number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
