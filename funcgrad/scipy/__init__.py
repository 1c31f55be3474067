"""funcgrad.scipy: SciPy's API over funcgrad primitives, as `jax.scipy` (so far `special`)."""

from funcgrad.scipy import special

__all__ = ["special"]
