"""Global settings, spelled as JAX spells them.

`config.update("jax_enable_x64", True)` or the environment (`JAX_ENABLE_X64=1`, or
`FUNCGRAD_ENABLE_X64=1`, which wins when both are set) choose the behaviour. Reads are
attribute lookups (`config.jax_enable_x64`) because they sit on the dispatch path.
"""

from __future__ import annotations

import os

__all__ = ["config", "Config"]

_FLAGS = {
    "jax_enable_x64": False,
    "jax_disable_jit": False,
    "jax_debug_nans": False,
    "jax_explain_cache_misses": False,
    # funcgrad's own: refuse a PRNG key consumed twice in one traced program (funcgrad.random).
    "funcgrad_check_key_reuse": True,
}


def _env_value(name: str, default: bool) -> bool:
    suffix = name.split("_", 1)[1].upper()
    for var in ("FUNCGRAD_" + suffix, "JAX_" + suffix):
        raw = os.environ.get(var)
        if raw is not None:
            text = raw.strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(
                f"environment variable {var}={raw!r} is not a boolean; "
                "use 1/0, true/false or on/off"
            )
    return default


class Config:
    """Holds every flag as a plain attribute; `update` is the only writer."""

    def __init__(self):
        for name, default in _FLAGS.items():
            object.__setattr__(self, name, _env_value(name, default))

    def update(self, name: str, value) -> None:
        """Set a flag, e.g. `config.update("jax_enable_x64", True)`."""
        if name not in _FLAGS:
            known = ", ".join(sorted(_FLAGS))
            raise AttributeError(f"unknown config option {name!r}; known options: {known}")
        if not isinstance(value, (bool, int)):
            raise TypeError(
                f"config option {name!r} takes a bool, got {type(value).__name__} {value!r}"
            )
        object.__setattr__(self, name, bool(value))

    def __setattr__(self, name, value):
        raise AttributeError(f"set config options with config.update({name!r}, value)")

    def __repr__(self) -> str:
        flags = ", ".join(f"{name}={getattr(self, name)}" for name in _FLAGS)
        return f"Config({flags})"


config = Config()
