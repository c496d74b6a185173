"""Write the built-in demo set to ``data/demo`` (images as packed bits, properties as CSV).

Run from the repository root::

    .venv/bin/python data/make_demo.py

The output is fully determined by the arguments (defaults: 300 samples, 64×64 px, seed 20261123);
``tests/test_demo.py`` checks that the committed files match a fresh generation.
"""

import argparse
import sys
from pathlib import Path

# Run as a plain script: make the repository's package importable without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from msdash.synthetic.demo import DEMO_SEED, write_demo  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "demo"))
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    args = parser.parse_args(argv)
    for path in write_demo(args.out, n=args.n, size=args.size, seed=args.seed):
        print(f"{path}  {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
