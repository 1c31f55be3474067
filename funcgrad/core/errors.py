"""funcgrad's exception classes.

The names and base classes follow `jax.errors`, so `except TypeError` and
`except jax.errors.ConcretizationTypeError` keep working after an import swap.
Messages are built by the raiser and always say what was wrong, where in the
user's code, and what to do instead.
"""

__all__ = [
    "ConcretizationTypeError",
    "TracerBoolConversionError",
    "TracerIntegerConversionError",
    "TracerArrayConversionError",
    "NonConcreteBooleanIndexError",
    "UnexpectedTracerError",
    "JaxprTypeError",
    "KeyReuseError",
]


class ConcretizationTypeError(TypeError):
    """A traced (abstract) value was used where a concrete Python value is needed."""


class TracerBoolConversionError(ConcretizationTypeError):
    """`bool()` of a traced value, usually a Python `if` or `while` on it."""


class TracerIntegerConversionError(TypeError):
    """`int()` or `operator.index()` of a traced value."""


class TracerArrayConversionError(TypeError):
    """`numpy.asarray()` of a traced value."""


class NonConcreteBooleanIndexError(IndexError):
    """A boolean mask index whose values are unknown because it is being traced."""


class UnexpectedTracerError(Exception):
    """A tracer escaped the transformation that created it and was used later."""


class JaxprTypeError(TypeError):
    """A jaxpr is malformed: an equation's types do not follow its primitive's rule."""


class KeyReuseError(TypeError):
    """A PRNG key was consumed by two random functions in one traced program."""


# Tracebacks show the public spelling, funcgrad.errors.X, as JAX's show jax.errors.X.
for _cls in (
    ConcretizationTypeError,
    TracerBoolConversionError,
    TracerIntegerConversionError,
    TracerArrayConversionError,
    NonConcreteBooleanIndexError,
    UnexpectedTracerError,
    JaxprTypeError,
    KeyReuseError,
):
    _cls.__module__ = "funcgrad.errors"
