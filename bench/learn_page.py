"""The Learn page's first visit: AppTest run time of ``msdash/app/screens/learn.py`` in a fresh process.

Each measurement is a new interpreter (nothing imported yet, as after a server start): open the app on a small saved
data set, then time ``switch_page(learn.py).run()``. The baseline, timed in the same run and the same way, is the
first visit of the Gallery page, which needs no torch. ``torch_loaded`` says whether the visit imported torch.
Prints one JSON line; best of ``--repeats`` fresh processes each.

    .venv/bin/python bench/learn_page.py [--repeats 3]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_VISIT = r"""
import json, resource, sys, time
import numpy as np, pandas as pd
from streamlit.testing.v1 import AppTest
from msdash.data.dataset import Dataset
from msdash.data.datastore import save_dataset
from msdash.synthetic import two_phase

images = two_phase(4, (64, 64), volume_fraction=0.5, correlation_length=4, seed=3).astype(np.float32)
names = [f"m{i}" for i in range(4)]
dataset_id = save_dataset(Dataset("four fields", dict(zip(names, images)),
                                  pd.DataFrame({"vf": images.reshape(4, -1).mean(axis=1)}, index=names)))
at = AppTest.from_file(sys.argv[1], default_timeout=300)
at.query_params["ds"] = dataset_id
at.run()
torch_before = "torch" in sys.modules
started = time.perf_counter()
at.switch_page(sys.argv[2]).run()
seconds = time.perf_counter() - started
assert not at.exception, at.exception
print(json.dumps({"s": seconds, "torch_before": torch_before, "torch_after": "torch" in sys.modules,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _visit(page, home):
    env = dict(os.environ, MSDASH_HOME=str(home))
    out = subprocess.run([sys.executable, "-c", _VISIT, str(ROOT / "app.py"), page], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        learn = [_visit("msdash/app/screens/learn.py", Path(tmp) / f"l{i}") for i in range(args.repeats)]
        gallery = [_visit("msdash/app/screens/gallery.py", Path(tmp) / f"g{i}") for i in range(args.repeats)]
    best_learn, best_gallery = min(r["s"] for r in learn), min(r["s"] for r in gallery)
    print(json.dumps({
        "bench": "learn_page_first_visit",
        "learn_first_visit_s": round(best_learn, 3),
        "gallery_first_visit_s": round(best_gallery, 3),
        "ratio_learn_vs_gallery": round(best_learn / best_gallery, 2),
        "torch_loaded_by_learn_visit": any(r["torch_after"] and not r["torch_before"] for r in learn),
        "peak_rss_mb_learn": round(max(r["rss_mb"] for r in learn), 1),
        "peak_rss_mb_gallery": round(max(r["rss_mb"] for r in gallery), 1),
        "repeats": args.repeats,
    }))


if __name__ == "__main__":
    main()
