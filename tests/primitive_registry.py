"""The primitive registry as a fresh interpreter sees it: every funcgrad module imported,
and none of the scratch primitives tests define. Registry tests (op records, jvp,
transpose and batching coverage) all read it through `rules_of_every_primitive`."""

from __future__ import annotations

import functools
import json
import subprocess
import sys

_SCRIPT = """
import importlib, json, pkgutil
import funcgrad
for module in pkgutil.walk_packages(funcgrad.__path__, "funcgrad."):
    if module.name == "funcgrad.__main__":
        continue
    try:
        importlib.import_module(module.name)
    except ModuleNotFoundError as err:  # an optional dependency (cupy, ...)
        if (err.name or "").startswith("funcgrad"):
            raise
from funcgrad.core.primitive import all_primitives
from funcgrad.interpreters import ad, batching

def has(rule):
    return not hasattr(rule, "is_missing_rule")

print(json.dumps({
    name: {
        "module": p.module,
        "impl": has(p.impl),
        "abstract_eval": has(p.abstract_eval),
        "jvp": p in ad.primitive_jvps,
        "transpose": p in ad.primitive_transposes,
        "linear": p in ad.primitive_jvps
        and ad.primitive_jvps[p].__qualname__.startswith("deflinear"),
        "batched": p in batching.primitive_batchers or p in batching.trace_rules,
    }
    for name, p in all_primitives().items()
}))
"""


@functools.lru_cache(maxsize=None)
def rules_of_every_primitive() -> dict[str, dict]:
    """{primitive name: {module, impl, abstract_eval, jvp, transpose, linear, batched}}."""
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)
