"""funcgrad.dtypes, as `jax.dtypes`: the dtype names that are not NumPy's."""

from funcgrad.core.dtypes import bfloat16, canonicalize_dtype, float0

__all__ = ["bfloat16", "canonicalize_dtype", "float0"]
