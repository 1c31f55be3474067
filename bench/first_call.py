"""The child process of the compile-time workloads: `python -m bench.first_call LIBRARY
CACHE_DIR SIZES_JSON` prints one JSON line with the seconds of a fresh MLP step's first call
(see bench/workloads/compile_time.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    library, cache, sizes = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
    # This process times one library: the others would only cost seconds of start-up
    # (importing PyTorch alone takes several), so importing them fails fast here.
    for other in ("torch", "cupy") + (() if library == "jax" else ("jax",)):
        sys.modules[other] = None
    from bench.workloads.compile_time import probe

    print(json.dumps(probe(library, tuple(sizes["layer_sizes"]), sizes["batch"], cache)))


if __name__ == "__main__":
    main()
