"""Benchmark: the Validation page's checks, run as the page runs them (the issue asks for under a minute on a
laptop CPU).

Prints one JSON line: wall seconds of each check and of all five, and the process's peak RSS. Baseline, timed
in the same run: the same checks' reference computations alone would not be a fair comparison (each check *is*
a comparison), so the reference here is the budget itself: ``share_of_minute`` = total / 60 s.

Run: ``.venv/bin/python bench/validation.py``
"""

import json
import resource
import time


from msdash.validation import run_checks


def main():
    start = time.perf_counter()
    results = run_checks()
    total = time.perf_counter() - start
    print(json.dumps({"bench": "validation", **{f"{name}_s": round(c.seconds, 2) for name, c in results.items()},
                      "all_passed": all(c.passed for c in results.values()), "total_s": round(total, 2),
                      "share_of_minute": round(total / 60, 3),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


if __name__ == "__main__":
    main()
