"""Server time of the most common clicks on a 150 × 25,281 feature table (study B's two-point set), one JSON line.

Usage::

    .venv/bin/python bench/interaction.py [--n 150] [--side 160]

A fresh workspace gets ``n`` binary micrographs of ``side`` px (random blobs) with a numeric property, a
categorical one and a group column; study B's two-point features (159 × 159 = 25,281 per sample) and physFeat2
are computed first (not timed). The app then runs in Streamlit's AppTest (``AppTest.from_file("app.py")``, the
whole script of a page, as the server runs it for a click) and every interaction's seconds are recorded.
Explicit computations (the first PCA / UMAP of a set) are listed under ``computations``, not among the clicks.

The baseline, timed in the same run, is what every rerun of the Features page used to cost before downloads
were built on demand: ``csv_bytes(table.to_frame())`` of the shown table. ``target_s`` is the 1 s goal;
``slow`` names the clicks above it. ``peak_rss_mb`` is this process's peak RSS (app and data in one process).
"""

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 1.0


def _micrographs(n, side, seed=0):
    """``n`` binary blob images (float32 0/1) whose volume fraction grows with the index."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    images = {}
    for i in range(n):
        field = gaussian_filter(rng.standard_normal((side, side)), 3, mode="wrap")
        threshold = np.quantile(field, 1 - (0.2 + 0.5 * i / max(n - 1, 1)))
        images[f"paper{i % 19:02d}_s{i:03d}"] = (field > threshold).astype(np.float32)
    return images


def _workspace(n, side):
    """Save the data set, compute its feature sets into the store; return the data set id."""
    import pandas as pd

    from msdash.data.dataset import Dataset
    from msdash.data.datastore import save_dataset
    from msdash.features import extract
    from msdash.features.store import save_table_meta

    images = _micrographs(n, side)
    names = list(images)
    rng = np.random.default_rng(1)
    properties = pd.DataFrame({"hardness (HV)": 300 + 100 * rng.random(n),
                               "paper": [name[:7] for name in names],
                               "vf": [float(images[k].mean()) for k in names]}, index=names)
    dataset = Dataset("interaction bench", images, properties, group_column="paper", source="generated")
    dataset_id = save_dataset(dataset)
    for name in ("phys_feat2", "two_point_paper_b"):
        save_table_meta(dataset_id, extract(dataset, name))
    return dataset_id, dataset


class _Clicks:
    """Seconds (and errors) of each action; with ``profile``, where a slow one spent its time (on stderr)."""

    def __init__(self, profile=False):
        self.seconds, self.errors, self.profile, self.shown = {}, {}, profile, {}

    def time(self, name, action):
        import cProfile

        profiler = cProfile.Profile() if self.profile else None
        started = time.perf_counter()
        at = None
        try:
            if profiler is not None:
                profiler.enable()
            at = action()
            problem = [str(e.value)[:200] for e in at.exception] if at is not None else []
        except Exception as exc:  # noqa: BLE001 — the other clicks still count
            problem = [f"{type(exc).__name__}: {str(exc)[:200]}"]
        finally:
            if profiler is not None:
                profiler.disable()
        self.seconds[name] = round(time.perf_counter() - started, 3)
        if at is not None and not problem:  # what the page put on screen: a fast click that drew nothing is no win
            self.shown[name] = {kind: len(at.get(kind)) for kind in ("plotly_chart", "dataframe", "metric", "image")
                                if len(at.get(kind))}
        if problem:
            self.errors[name] = problem
        if profiler is not None and self.seconds[name] >= TARGET_S:
            _print_profile(name, self.seconds[name], profiler)


def _print_profile(name, seconds, profiler, top=18):
    """The project's functions that took the most cumulative time in one slow click, on stderr."""
    import pstats

    stats = pstats.Stats(profiler)
    rows = [(ct, nc, f"{Path(file).relative_to(ROOT)}:{line} {func}")
            for (file, line, func), (_, nc, _, ct, _) in stats.stats.items()
            if file.startswith(str(ROOT)) and "/.venv/" not in file]
    print(f"--- {name}: {seconds:.2f} s ---", file=sys.stderr)
    for ct, nc, where in sorted(rows, reverse=True)[:top]:
        print(f"{ct:8.3f} s {nc:6d}×  {where}", file=sys.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=150)
    parser.add_argument("--side", type=int, default=160)
    parser.add_argument("--profile", action="store_true",
                        help="print where each click over the target spent its time (stderr)")
    args = parser.parse_args(argv)
    stdout = os.dup(1)
    os.dup2(2, 1)  # Streamlit prints tracebacks on stdout: this script's stdout is its one JSON line
    try:
        figures = _measure(args)
    finally:
        sys.stdout.flush()
        os.dup2(stdout, 1)
    print(json.dumps(figures))


def _measure(args):
    home = tempfile.mkdtemp(prefix="msdash-interaction-")
    os.environ["MSDASH_HOME"] = home
    os.environ.setdefault("MSDASH_WARM_UMAP", "0")
    from streamlit.testing.v1 import AppTest

    from msdash.app.features import feature_sets
    from msdash.selection import csv_bytes

    started = time.perf_counter()
    dataset_id, dataset = _workspace(args.n, args.side)
    setup_s = time.perf_counter() - started
    big = next(label for label in feature_sets(dataset_id) if label.startswith("two_point_paper_b"))

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900)
    at.query_params["ds"] = dataset_id
    at.run()
    clicks, computations = _Clicks(args.profile), _Clicks()
    at.switch_page("msdash/app/screens/features.py")
    computations.time("features: compute (read from the store)", lambda: (
        at.run(), at.selectbox(key="extractor").set_value("two_point_paper_b").run(),
        at.button(key="compute_features").click().run())[-1])
    clicks.time("open Features (25,281-column table shown)", lambda: (
        at.switch_page("msdash/app/screens/gallery.py").run(),
        at.switch_page("msdash/app/screens/features.py"))[-1].run())
    clicks.time("Features: change the extractor", lambda: at.selectbox(key="extractor").set_value("radial_psd").run())
    at.switch_page("msdash/app/screens/map.py").run()
    computations.time("map: first PCA of the 25,281-column set",
                      lambda: at.multiselect(key="map_sets").set_value([big]).run())
    clicks.time("Map: change the colour", lambda: at.selectbox(key="map_color").set_value("hardness (HV)").run())
    clicks.time("Map: colour by a category", lambda: at.selectbox(key="map_color").set_value("paper").run())
    computations.time("map: first UMAP", lambda: at.segmented_control(key="map_method").set_value("UMAP").run())
    clicks.time("Map: switch UMAP → PCA", lambda: at.segmented_control(key="map_method").set_value("PCA").run())
    clicks.time("Map: switch PCA → UMAP (computed before)",
                lambda: at.segmented_control(key="map_method").set_value("UMAP").run())
    picker = "map_pick"
    clicks.time("Map: pick a sample (as a click on a point)", lambda: _pick(at, picker, dataset.names[3]))
    clicks.time("open Models", lambda: at.switch_page("msdash/app/screens/models.py").run())
    computations.time("models: nested CV of pr on the 25,281-column set", lambda: _run_models(at, big))
    clicks.time("open Predict (a fitted model to use)", lambda: at.switch_page("msdash/app/screens/predict.py").run())
    clicks.time("open Gallery", lambda: at.switch_page("msdash/app/screens/gallery.py").run())
    clicks.time("Gallery: next page", lambda: _next_page(at))
    clicks.time("open Map (coming back)", lambda: at.switch_page("msdash/app/screens/map.py").run())
    clicks.time("open Models (results shown)", lambda: at.switch_page("msdash/app/screens/models.py").run())

    frame = _shown_table(dataset_id)
    started = time.perf_counter()
    csv_bytes(frame)
    baseline_s = time.perf_counter() - started
    slow = sorted(name for name, s in clicks.seconds.items() if s >= TARGET_S)
    return {
        "bench": "interaction", "n_samples": args.n, "side_px": args.side, "features": int(frame.shape[1]),
        "clicks_s": clicks.seconds, "computations_s": computations.seconds,
        "errors": {**clicks.errors, **computations.errors}, "shown": clicks.shown,
        "baseline_csv_per_rerun_s": round(baseline_s, 3), "target_s": TARGET_S, "slow": slow,
        "setup_s": round(setup_s, 1), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _pick(at, key, name):
    """Pick one sample with the map's name picker (AppTest cannot click a chart point; the page reruns alike)."""
    for widget in at.text_input:
        if widget.key == key or "Pick samples" in widget.label:
            return widget.input(name).run()
    widget = next(w for w in at.multiselect if w.key == key or "Pick samples" in w.label)
    return widget.set_value([name]).run()


def _run_models(at, feature_set):
    """Nested CV of the default model on ``feature_set`` for the numeric property; waits for a background run."""
    from msdash.learned import jobs
    from msdash.app import keys

    at.selectbox(key="model_target").set_value("hardness (HV)").run()
    at.multiselect(key="model_sets").set_value([feature_set]).run()
    at.button(key="run_models").click().run()
    job_id = at.session_state[keys.MODEL_CV_JOB] if keys.MODEL_CV_JOB in at.session_state else None
    if job_id and jobs.get(job_id) is not None:
        jobs.get(job_id).wait(900)
    return at.run()


def _next_page(at):
    at.session_state["gallery_page"] = 2
    return at.run()


def _shown_table(dataset_id):
    from msdash.features import extract

    from msdash.data.datastore import load_dataset

    return extract(load_dataset(dataset_id), "two_point_paper_b").to_frame()


if __name__ == "__main__":
    main()
