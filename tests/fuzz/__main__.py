"""The long fuzzing run: `python -m tests.fuzz --programs 10000` (from the repository root).

Runs test_properties.py with N random programs per property and fresh (not derandomized)
seeds; a failure prints the shrunk program and a `@reproduce_failure` line to pin it.
Equivalent to `FUNCGRAD_FUZZ_PROGRAMS=N pytest tests/fuzz/test_properties.py`.
"""

from __future__ import annotations

import argparse
import os
import sys

import pytest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    parser.add_argument("--programs", type=int, default=10000, help="programs per property")
    parser.add_argument("-k", default=None, help="only the properties matching (pytest -k)")
    args = parser.parse_args(argv)
    os.environ["FUNCGRAD_FUZZ_PROGRAMS"] = str(args.programs)
    here = os.path.dirname(os.path.abspath(__file__))
    pytest_args = [os.path.join(here, "test_properties.py"), "-p", "no:cacheprovider"]
    pytest_args += ["--durations=5", "--hypothesis-show-statistics"]
    if args.k:
        pytest_args += ["-k", args.k]
    return pytest.main(pytest_args)


if __name__ == "__main__":
    sys.exit(main())
