"""What a workload is: sizes, a builder of its implementations per library, a check of each
result against an independent NumPy reference, and the bytes and flops the machine's limits
are compared with.

Most workloads are written once as a function of an API (`funcgrad` or `jax`), its NumPy-like
module and its `lax`, so funcgrad and JAX compute the same program; `jit_implementations`
turns such a function into one jitted implementation per funcgrad backend and per JAX device.
NumPy's implementation is the reference, written by hand where a gradient is involved so that
it does not share funcgrad's or JAX's autodiff.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from bench import libraries
from bench.libraries import jax, jnp
from funcgrad import lax as flax

__all__ = [
    "Instance",
    "Workload",
    "SIZE_NAMES",
    "jit_implementations",
    "close_check",
    "update_check",
]

SIZE_NAMES = ("full", "quick", "tiny")
Implementation = Callable[[], Any]


@dataclass(frozen=True)
class Instance:
    """A workload built at one size. `implementations` maps a library key (see
    bench/libraries.py) to a call returning its result, or to the reason it cannot run;
    `check(key, result)` raises AssertionError when a result disagrees with the reference.
    A `self_timed` workload's calls return (seconds, result) and are not timed from outside
    (a first call in a fresh process cannot be repeated in this one)."""

    implementations: dict[str, Implementation | str]
    check: Callable[[str, Any], None]
    bytes_moved: float = 0.0
    flops: float = 0.0
    unit: str = "ms"
    self_timed: bool = False


@dataclass(frozen=True)
class Workload:
    """A named benchmark: `build(rng, **sizes[size])` returns its Instance; `title` is
    formatted with the same size parameters."""

    name: str
    title: str
    sizes: dict[str, dict[str, Any]]
    build: Callable[..., Instance]
    notes: str = ""

    def describe(self, size: str) -> str:
        """The title at `size`, layer sizes and channel tuples written as 784-512-10."""
        parameters = {
            name: "-".join(map(str, value)) if isinstance(value, tuple) else value
            for name, value in self.sizes[size].items()
        }
        return self.title.format(**parameters)


def _apis() -> list[tuple[str, Any, Any, Any, Callable, Callable]]:
    """(key, api, numpy-like module, lax, jit with its options, argument converter) of every
    jitting library present."""
    found = []
    for backend in libraries.FUNCGRAD_BACKENDS:
        # Inputs on the backend's device, so that no call moves them.
        device = fg.devices("gpu" if backend == "cupy" else "cpu")[0]
        convert = functools.partial(fg.device_put, device=device)
        jit = functools.partial(fg.jit, backend=backend)
        found.append((f"funcgrad-{backend}", fg, fnp, flax, jit, convert))
    for key, kind in (("jax", "cpu"), ("jax-gpu", "gpu")):
        device = libraries.jax_device(kind)
        if device is not None:
            convert = functools.partial(jax.device_put, device=device)
            found.append((key, jax, jnp, jax.lax, jax.jit, convert))
    return found


def jit_implementations(
    make: Callable[[Any, Any, Any], Callable],
    args: tuple,
    missing: Callable[[Any], str | None] | None = None,
) -> dict[str, Implementation | str]:
    """`jit(make(api, np_like, lax))(*args)` for funcgrad (each backend) and JAX (each device).
    Arguments are converted once, outside the timed call; results are waited for.
    `missing(lax)` names what a library lacks for this workload (None when nothing)."""
    implementations: dict[str, Implementation | str] = {}
    for key, api, np_like, lax, jit, convert in _apis():
        reason = missing(lax) if missing is not None else None
        if reason is not None:
            implementations[key] = reason
            continue
        compiled = jit(make(api, np_like, lax))
        converted = convert(args)
        wait = libraries.synchronizer(key)
        implementations[key] = functools.partial(_call_and_wait, compiled, converted, wait)
    return implementations


def _call_and_wait(fun: Callable, inputs: tuple, wait: Callable) -> Any:
    return wait(fun(*inputs))


def _leaves(tree: Any) -> list[np.ndarray]:
    return [np.asarray(x) for x in fg.tree_util.tree_leaves(libraries.to_numpy(tree))]


def close_check(title: str, reference: Any, rtol: float, atol_scale: float) -> Callable:
    """A check that every leaf of a result matches `reference` (same tree), to `rtol` and an
    absolute tolerance of `atol_scale` times the leaf's largest magnitude (float32 results
    pass near zero, where a relative tolerance alone would fail)."""
    expected = _leaves(reference)

    def check(key: str, result: Any) -> None:
        got = _leaves(result)
        assert len(got) == len(expected), f"{title}, {key}: {len(got)} outputs, not {len(expected)}"
        for index, (have, want) in enumerate(zip(got, expected)):
            assert have.shape == want.shape, f"{title}, {key}: shape {have.shape} != {want.shape}"
            atol = atol_scale * float(np.abs(want).max(initial=0.0))
            np.testing.assert_allclose(
                have, want, rtol=rtol, atol=atol, err_msg=f"{title}, {key}, output {index}"
            )

    return check


def update_check(title: str, params: dict, reference: tuple) -> Callable:
    """A check of a train step's (new parameters, loss): the loss to float32 precision, and
    each parameter's update (new - old, small next to the parameter) on its own scale."""
    ref_params, ref_loss = reference

    def check(key: str, result: Any) -> None:
        new_params, loss = libraries.to_numpy(result)
        np.testing.assert_allclose(loss, ref_loss, rtol=1e-4, err_msg=f"{title}, {key}: loss")
        for name, ref in ref_params.items():
            got = np.asarray(new_params[name])
            assert got.dtype == np.float32, f"{title}, {key}: {name} is {got.dtype}"
            update, ref_update = got - params[name], ref - params[name]
            scale = float(np.abs(ref_update).max())
            np.testing.assert_allclose(
                update, ref_update, rtol=1e-3, atol=2e-3 * scale, err_msg=f"{title}, {key}: {name}"
            )

    return check
