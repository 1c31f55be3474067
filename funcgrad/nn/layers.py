"""Layers: hyperparameters in frozen dataclasses, parameters and state in plain pytrees.

A layer object holds only its configuration (feature counts, kernel sizes, rates); it is
immutable and hashable, so it can be a static argument of `jit` or a global. Its numbers live
outside it, in two pytrees of dicts that every transform, optimizer and checkpoint handles as
they are:

    params, state = model.init(key, x)          # x: an example batch (or a ShapeDtypeStruct)
    y, state = model.apply(params, state, x, train=True, key=dropout_key)

`params` are what gradients update; `state` is what a layer keeps between steps without
gradients (BatchNorm's running statistics), returned anew by `apply`. Input shapes are read from
the example at `init`, so `Linear(10)` needs no input size. Custom layers subclass `Module` and
define `init` and `apply` with these signatures; inside `Sequential`, any plain function of one
array (`nn.relu`) is a layer without parameters.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from funcgrad.core.source_info import user_location
from funcgrad.nn import initializers

__all__ = [
    "Module",
    "Linear",
    "Dense",
    "Conv2d",
    "MaxPool",
    "AvgPool",
    "Flatten",
    "LayerNorm",
    "BatchNorm",
    "Dropout",
    "Embedding",
    "Sequential",
]

Params = Any
State = Any


def _shape_of(x) -> tuple[int, ...]:
    return tuple(int(size) for size in x.shape)


def _dtype_of(x) -> np.dtype:
    dtype = np.dtype(x.dtype)
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float32)


def _pair(name: str, what: str, value) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and v > 0 for v in pair):
        raise ValueError(
            f"{name}: {what} must be a positive int or a pair of them, got {value!r} (at "
            f"{user_location()})"
        )
    return pair


def _rank_error(name: str, x, expected: str, fix: str) -> ValueError:
    return ValueError(
        f"{name}: expects inputs of shape {expected}, got shape {_shape_of(x)} (at "
        f"{user_location()}); {fix}"
    )


class Module:
    """The layer protocol: `init(key, x) -> (params, state)` and `apply(params, state, x, *,
    train=False, key=None) -> (y, state)`. The defaults describe a layer with neither."""

    #: True for layers that draw random numbers in training (they need `apply(..., key=)`).
    uses_key = False

    def init(self, key, x) -> tuple[Params, State]:
        return {}, {}

    def apply(self, params, state, x, *, train: bool = False, key=None) -> tuple[Any, State]:
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class Linear(Module):
    """`x @ kernel + bias` over the last axis, with `features` outputs.

    >>> params, state = Linear(3).init(key, jnp.ones((8, 5)))  # doctest: +SKIP
    >>> params["kernel"].shape, params["bias"].shape  # doctest: +SKIP
    ((5, 3), (3,))
    """

    features: int
    use_bias: bool = True
    kernel_init: Callable = initializers.lecun_normal()
    bias_init: Callable = initializers.zeros

    def init(self, key, x):
        from funcgrad import random

        if not _shape_of(x):
            raise _rank_error("Linear", x, "(..., features)", "add a feature axis: x[..., None].")
        kernel_key, bias_key = random.split(key)
        dtype = _dtype_of(x)
        params = {"kernel": self.kernel_init(kernel_key, (_shape_of(x)[-1], self.features), dtype)}
        if self.use_bias:
            params["bias"] = self.bias_init(bias_key, (self.features,), dtype)
        return params, {}

    def apply(self, params, state, x, *, train=False, key=None):
        inputs = params["kernel"].shape[0]
        if not _shape_of(x) or _shape_of(x)[-1] != inputs:
            raise _rank_error(
                "Linear",
                x,
                f"(..., {inputs})",
                f"this layer's kernel {tuple(params['kernel'].shape)} was initialized for "
                f"{inputs} input features; initialize it with an input of the shape you apply "
                "it to.",
            )
        y = x @ params["kernel"]
        if self.use_bias:
            y = y + params["bias"]
        return y, state


Dense = Linear


@dataclasses.dataclass(frozen=True)
class Conv2d(Module):
    """A 2-D convolution with `features` output channels; inputs NHWC (or NCHW with
    `data_format="NCHW"`), kernel stored HWIO, padding "SAME", "VALID" or explicit pairs.

    >>> Conv2d(20, 5).init(key, jnp.ones((64, 8, 8, 1)))[0]["kernel"].shape  # doctest: +SKIP
    (5, 5, 1, 20)
    """

    features: int
    kernel_size: int | Sequence[int] = 3
    strides: int | Sequence[int] = 1
    padding: str | Sequence[tuple[int, int]] = "SAME"
    dilation: int | Sequence[int] = 1
    groups: int = 1
    use_bias: bool = True
    data_format: str = "NHWC"
    kernel_init: Callable = initializers.lecun_normal()
    bias_init: Callable = initializers.zeros

    def _channels(self, x) -> int:
        if len(_shape_of(x)) != 4:
            layout = self.data_format
            raise _rank_error(
                "Conv2d",
                x,
                f"(batch, ...) in {layout} layout, rank 4",
                "add a batch axis with x[None] (or map over examples with vmap), and a channel "
                "axis of size 1 for grey images.",
            )
        return _shape_of(x)[self.data_format.index("C")]

    def init(self, key, x):
        from funcgrad import random

        if self.data_format not in ("NHWC", "NCHW"):
            raise ValueError(
                f"Conv2d: data_format must be 'NHWC' or 'NCHW', got {self.data_format!r} (at "
                f"{user_location()})"
            )
        channels = self._channels(x)
        if channels % self.groups or self.features % self.groups:
            raise ValueError(
                f"Conv2d: groups={self.groups} must divide both the input channels ({channels}) "
                f"and features ({self.features}) (at {user_location()})"
            )
        kernel_key, bias_key = random.split(key)
        h, w = _pair("Conv2d", "kernel_size", self.kernel_size)
        dtype = _dtype_of(x)
        kernel_shape = (h, w, channels // self.groups, self.features)
        params = {"kernel": self.kernel_init(kernel_key, kernel_shape, dtype)}
        if self.use_bias:
            params["bias"] = self.bias_init(bias_key, (self.features,), dtype)
        return params, {}

    def apply(self, params, state, x, *, train=False, key=None):
        from funcgrad import lax

        self._channels(x)
        layout = self.data_format
        y = lax.conv_general_dilated(
            x,
            params["kernel"],
            window_strides=_pair("Conv2d", "strides", self.strides),
            padding=self.padding,
            rhs_dilation=_pair("Conv2d", "dilation", self.dilation),
            dimension_numbers=(layout, "HWIO", layout),
            feature_group_count=self.groups,
        )
        if self.use_bias:
            bias = params["bias"]
            y = y + (bias if layout == "NHWC" else bias.reshape(-1, 1, 1))
        return y, state


@dataclasses.dataclass(frozen=True)
class _Pool(Module):
    window_shape: int | Sequence[int] = 2
    strides: int | Sequence[int] | None = None
    padding: str | Sequence[tuple[int, int]] = "VALID"
    data_format: str = "NHWC"

    def _windows(self, name: str, x):
        if len(_shape_of(x)) != 4:
            raise _rank_error(
                name, x, f"rank 4 ({self.data_format})", "add a batch axis with x[None]."
            )
        window = _pair(name, "window_shape", self.window_shape)
        strides = window if self.strides is None else _pair(name, "strides", self.strides)
        if self.data_format == "NHWC":
            dims, steps = (1, *window, 1), (1, *strides, 1)
        else:
            dims, steps = (1, 1, *window), (1, 1, *strides)
        padding = self.padding
        if not isinstance(padding, str):
            spatial = [tuple(pair) for pair in padding]
            none = [(0, 0)]
            padding = none + spatial + none if self.data_format == "NHWC" else none * 2 + spatial
        return dims, steps, padding, window


@dataclasses.dataclass(frozen=True)
class MaxPool(_Pool):
    """The maximum over `window_shape` windows of the spatial axes (strides default to the
    window: non-overlapping pooling)."""

    def apply(self, params, state, x, *, train=False, key=None):
        from funcgrad import lax

        dims, steps, padding, _ = self._windows("MaxPool", x)
        low = np.array(-np.inf, _dtype_of(x))
        return lax.reduce_window(x, low, lax.max, dims, steps, padding), state


@dataclasses.dataclass(frozen=True)
class AvgPool(_Pool):
    """The mean over `window_shape` windows of the spatial axes; padded positions count as
    zeros in the mean, as in Flax's `avg_pool`."""

    def apply(self, params, state, x, *, train=False, key=None):
        from funcgrad import lax

        dims, steps, padding, window = self._windows("AvgPool", x)
        zero = np.array(0, _dtype_of(x))
        total = lax.reduce_window(x, zero, lax.add, dims, steps, padding)
        return total / math.prod(window), state


@dataclasses.dataclass(frozen=True)
class Flatten(Module):
    """Every axis but the first (the batch) into one."""

    def apply(self, params, state, x, *, train=False, key=None):
        if not _shape_of(x):
            raise _rank_error("Flatten", x, "(batch, ...)", "a scalar has no batch axis.")
        return x.reshape(_shape_of(x)[0], -1), state


@dataclasses.dataclass(frozen=True)
class LayerNorm(Module):
    """Normalizes each example over its last axis to zero mean and unit variance, then scales
    and shifts per feature (Ba et al., 2016)."""

    epsilon: float = 1e-6
    use_scale: bool = True
    use_bias: bool = True

    def init(self, key, x):
        from funcgrad import numpy as jnp

        features, dtype = _shape_of(x)[-1:], _dtype_of(x)
        params = {}
        if self.use_scale:
            params["scale"] = jnp.ones(features, dtype)
        if self.use_bias:
            params["bias"] = jnp.zeros(features, dtype)
        return params, {}

    def apply(self, params, state, x, *, train=False, key=None):
        from funcgrad import lax
        from funcgrad import numpy as jnp

        mean = jnp.mean(x, axis=-1, keepdims=True)
        centered = x - mean
        variance = jnp.mean(jnp.square(centered), axis=-1, keepdims=True)
        y = centered * lax.rsqrt(variance + self.epsilon)
        if self.use_scale:
            y = y * params["scale"]
        if self.use_bias:
            y = y + params["bias"]
        return y, state


@dataclasses.dataclass(frozen=True)
class BatchNorm(Module):
    """Batch normalization (Ioffe & Szegedy, 2015) over the feature axis `axis`.

    With `train=True` it normalizes by the batch's statistics and returns running averages
    updated by `momentum` in the new state; with `train=False` it uses those averages.
    """

    momentum: float = 0.99
    epsilon: float = 1e-5
    axis: int = -1

    def _feature_axis(self, x) -> int:
        ndim = len(_shape_of(x))
        if not -ndim <= self.axis < ndim or ndim < 2:
            raise _rank_error(
                "BatchNorm",
                x,
                f"(batch, ...) with a feature axis {self.axis}",
                "BatchNorm needs a batch axis and a feature axis.",
            )
        return self.axis % ndim

    def init(self, key, x):
        from funcgrad import numpy as jnp

        features, dtype = _shape_of(x)[self._feature_axis(x)], _dtype_of(x)
        params = {"scale": jnp.ones(features, dtype), "bias": jnp.zeros(features, dtype)}
        state = {"mean": jnp.zeros(features, dtype), "var": jnp.ones(features, dtype)}
        return params, state

    def apply(self, params, state, x, *, train=False, key=None):
        from funcgrad import lax
        from funcgrad import numpy as jnp

        axis = self._feature_axis(x)
        ndim = len(_shape_of(x))
        reduced = tuple(a for a in range(ndim) if a != axis)
        broadcast = [1] * ndim
        broadcast[axis] = -1
        if train:
            mean = jnp.mean(x, axis=reduced)
            variance = jnp.mean(jnp.square(x - mean.reshape(broadcast)), axis=reduced)
            keep = self.momentum
            state = {
                "mean": keep * state["mean"] + (1 - keep) * lax.stop_gradient(mean),
                "var": keep * state["var"] + (1 - keep) * lax.stop_gradient(variance),
            }
        else:
            mean, variance = state["mean"], state["var"]
        scale = params["scale"] * lax.rsqrt(variance + self.epsilon)
        y = (x - mean.reshape(broadcast)) * scale.reshape(broadcast)
        return y + params["bias"].reshape(broadcast), state


@dataclasses.dataclass(frozen=True)
class Dropout(Module):
    """Zeroes each element with probability `rate` in training (scaling the rest by
    `1 / (1 - rate)`); the identity when `train=False`."""

    rate: float = 0.5
    uses_key = True

    def apply(self, params, state, x, *, train=False, key=None):
        from funcgrad.nn.functions import dropout

        if not train or self.rate == 0:
            return x, state
        if key is None:
            raise ValueError(
                f"Dropout: training needs a PRNG key (at {user_location()}); call "
                "model.apply(params, state, x, train=True, key=key) with a fresh key each step "
                "(split one per step from random.PRNGKey(seed))."
            )
        return dropout(key, self.rate, x), state


@dataclasses.dataclass(frozen=True)
class Embedding(Module):
    """A table of `num_embeddings` vectors of size `features`, looked up by integer ids."""

    num_embeddings: int
    features: int
    embedding_init: Callable = initializers.normal(stddev=1.0)

    def init(self, key, x):
        table = self.embedding_init(key, (self.num_embeddings, self.features), np.float32)
        return {"embedding": table}, {}

    def apply(self, params, state, x, *, train=False, key=None):
        from funcgrad import numpy as jnp

        if not np.issubdtype(np.dtype(x.dtype), np.integer):
            raise TypeError(
                f"Embedding: ids must be integers, got dtype {np.dtype(x.dtype)} (at "
                f"{user_location()}); convert them with ids.astype(jnp.int32)."
            )
        return jnp.take(params["embedding"], x, axis=0), state


@dataclasses.dataclass(frozen=True)
class _Function(Module):
    """A plain function of one array, as a layer without parameters."""

    function: Callable

    def apply(self, params, state, x, *, train=False, key=None):
        return self.function(x), state


def _as_layer(layer) -> Module:
    if isinstance(layer, Module):
        return layer
    if callable(layer):
        return _Function(layer)
    raise TypeError(
        f"Sequential: every layer must be an nn.Module or a function of one array, got "
        f"{layer!r} (at {user_location()})"
    )


@dataclasses.dataclass(frozen=True, init=False)
class Sequential(Module):
    """Layers applied in order; params and state are tuples with one entry per layer.

    >>> model = Sequential([Linear(32), relu, Linear(10)])  # doctest: +SKIP
    >>> params, state = model.init(random.PRNGKey(0), jnp.ones((8, 64)))  # doctest: +SKIP
    >>> logits, state = model.apply(params, state, x)  # doctest: +SKIP
    """

    layers: tuple[Module, ...]

    def __init__(self, layers: Sequence):
        object.__setattr__(self, "layers", tuple(_as_layer(layer) for layer in layers))

    @property
    def uses_key(self) -> bool:
        return any(layer.uses_key for layer in self.layers)

    def _layer_keys(self, key, train: bool) -> list:
        from funcgrad import random

        if key is None or not train or not self.uses_key:
            return [None] * len(self.layers)
        return list(random.split(key, len(self.layers)))

    def init(self, key, x):
        from funcgrad import random
        from funcgrad.api import ShapeDtypeStruct, eval_shape

        x = ShapeDtypeStruct(_shape_of(x), np.dtype(x.dtype))
        params, state = [], []
        for layer, layer_key in zip(self.layers, random.split(key, max(len(self.layers), 1))):
            layer_params, layer_state = layer.init(layer_key, x)
            x = eval_shape(
                lambda p, s, v, layer=layer: layer.apply(p, s, v)[0], layer_params, layer_state, x
            )
            params.append(layer_params)
            state.append(layer_state)
        return tuple(params), tuple(state)

    def apply(self, params, state, x, *, train=False, key=None):
        if len(params) != len(self.layers) or len(state) != len(self.layers):
            raise ValueError(
                f"Sequential: got params for {len(params)} and state for {len(state)} layers but "
                f"the model has {len(self.layers)} (at {user_location()}); pass the params and "
                "state that this model's init returned."
            )
        new_state = []
        for layer, p, s, k in zip(self.layers, params, state, self._layer_keys(key, train)):
            x, s = layer.apply(p, s, x, train=train, key=k)
            new_state.append(s)
        return x, tuple(new_state)
