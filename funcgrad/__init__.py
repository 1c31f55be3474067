"""funcgrad: composable transformations of array programs, spoken in JAX's API.

    import funcgrad as jax
    import funcgrad.numpy as jnp

This module only re-exports public names; each is defined in the module that owns it.
"""

from funcgrad import (
    data,
    debug,
    dtypes,
    errors,
    io,
    lax,
    metrics,
    nn,
    numpy,
    optim,
    random,
    scipy,
    tree,
    tree_util,
    viz,
)
from funcgrad.api import (
    ShapeDtypeStruct,
    checkpoint,
    custom_jvp,
    custom_vjp,
    eval_shape,
    grad,
    hessian,
    jacfwd,
    jacrev,
    jit,
    jvp,
    linearize,
    make_jaxpr,
    remat,
    value_and_grad,
    vjp,
    vmap,
)
from funcgrad.config import config
from funcgrad.runtime.array import Array
from funcgrad.runtime.devices import (
    Device,
    block_until_ready,
    default_backend,
    device_get,
    device_put,
    devices,
    local_devices,
)

__version__ = "0.1.0"

__all__ = [
    "Array",
    "Device",
    "ShapeDtypeStruct",
    "block_until_ready",
    "checkpoint",
    "config",
    "custom_jvp",
    "custom_vjp",
    "data",
    "debug",
    "default_backend",
    "device_get",
    "device_put",
    "devices",
    "dtypes",
    "errors",
    "eval_shape",
    "grad",
    "hessian",
    "io",
    "jacfwd",
    "jacrev",
    "jit",
    "jvp",
    "linearize",
    "local_devices",
    "lax",
    "make_jaxpr",
    "metrics",
    "nn",
    "numpy",
    "optim",
    "random",
    "remat",
    "scipy",
    "tree",
    "tree_util",
    "value_and_grad",
    "viz",
    "vjp",
    "vmap",
]
