"""Accuracy of the LLVM backend's math library, against NumPy, over the whole float range.

Each function runs compiled, inside a loop kernel (llvm_harness.py), over at least a million
inputs per dtype: special values, random bit patterns (every sign, exponent and NaN
payload) and dense samples where the function is interesting. References: float32 results
against NumPy in float64; float64 results against NumPy's long double (80-bit x87) ufuncs,
except erf, which NumPy lacks: float64 erf is checked against `math.erf` (the C library's,
itself within about 1 ulp) on a subsample. The error is |got - ref| / ulp(ref rounded to the
dtype) and must be at most 2 ulp; NaN and infinity positions, and the sign of zero results,
must match the reference exactly.
"""

import math

import llvmlite.binding as llvm
import numpy as np
import pytest
from llvm_harness import ElementwiseKernel, float_lanes
from llvmlite import ir

from funcgrad.backends.llvm import mathlib

MAX_ULP = 2.0
UNARY = ["exp", "expm1", "log", "log1p", "tanh", "logistic", "sin", "cos", "erf", "sqrt"]
DTYPES = [np.float32, np.float64]
POINTS = 1_000_000
ERF64_SUBSAMPLE = 200_000


@pytest.fixture(scope="module")
def kernels():
    """Compiled kernels, one per (function, dtype), built on first use (no disk cache)."""
    compiled: dict[tuple[str, type], ElementwiseKernel] = {}

    def get(name: str, dtype) -> ElementwiseKernel:
        if (name, dtype) not in compiled:
            with pytest.MonkeyPatch.context() as patch:
                patch.setenv("FUNCGRAD_DISK_CACHE", "0")
                compiled[name, dtype] = ElementwiseKernel(name, dtype)
        return compiled[name, dtype]

    return get


# --- inputs -----------------------------------------------------------------------------


def special_values(dtype) -> np.ndarray:
    info = np.finfo(dtype)
    tiny_sub = info.smallest_subnormal
    largest_sub = info.smallest_normal - tiny_sub
    base = [0.0, np.inf, np.nan, tiny_sub, 2 * tiny_sub, largest_sub, info.smallest_normal]
    base += [info.max, 1.0, 0.5, 2.0, 3.0, 10.0, 0.1, info.eps, info.epsneg, 1e-30, 1e30]
    values = np.array(base, dtype=dtype)
    return np.concatenate([values, -values, near(values[np.isfinite(values)], 3)])


def near(values, count: int) -> np.ndarray:
    """`values` and their `count` neighbours on each side, in their own dtype."""
    out = [values]
    up = down = values
    with np.errstate(over="ignore"):  # the neighbour above max is inf, a fine input too
        for _ in range(count):
            up = np.nextafter(up, np.inf)
            down = np.nextafter(down, -np.inf)
            out += [up, down]
    return np.concatenate(out)


def random_bits(rng, dtype, count: int) -> np.ndarray:
    itype = np.uint32 if dtype == np.float32 else np.uint64
    return rng.integers(0, np.iinfo(itype).max, count, dtype=itype, endpoint=True).view(dtype)


def log_uniform(rng, dtype, count: int, lo: float, hi: float) -> np.ndarray:
    """Positive values whose logarithm is uniform in [log lo, log hi]."""
    return np.exp(rng.uniform(np.log(lo), np.log(hi), count)).astype(dtype)


def thresholds(name: str, dtype) -> list[float]:
    """Where results overflow, underflow, saturate or change formula."""
    if dtype == np.float32:
        over, under, sub = 88.72283, -87.33655, -103.97208
    else:
        over, under, sub = 709.782712893384, -708.3964185322641, -745.1332191019411
    # float32 switch points: tanh's polynomial ends at 0.75 and |x| is capped at 10; erf's
    # ends at 0.875 and |x| is capped at 4; logistic drops 2^n next to 1 below 2^-60.
    return {
        "exp": [over, under, sub, sub - 0.7, 0.34657359, 1e-8],
        "expm1": [over, -17.33, -37.43, 0.34657359, 1e-8],
        "log": [1.0, 2**0.5, 0.5**0.5, 2.0],
        "log1p": [-1.0, -0.5, 1.0, 2**0.5 - 1],
        "tanh": [0.55, 0.75, 9.01, 10.0, 19.06, 22.0],
        "logistic": [-sub, sub, under, 36.7, 16.6, 60 * np.log(2), 104.0],
        "sin": [np.pi / 4, 0.78],
        "cos": [np.pi / 4, 0.78],
        "erf": [0.875, 1.0, 1.5, 2.5, 4.0, 6.0, 3.92, 5.93],
        "sqrt": [1.0, 4.0],
    }[name]


def dense_ranges(name: str, dtype) -> list[tuple[float, float]]:
    wide = 1e5 if dtype == np.float32 else 1e9
    return {
        "exp": [(-1.0, 1.0), (-750.0, 712.0) if dtype == np.float64 else (-105.0, 90.0)],
        "expm1": [(-1.0, 1.0), (-50.0, 712.0) if dtype == np.float64 else (-20.0, 90.0)],
        "log": [(0.5, 2.0), (0.0, 100.0)],
        "log1p": [(-1.0, 1.0), (-1e-5, 1e-5), (-1.0, 100.0)],
        "tanh": [(-1.0, 1.0), (-25.0, 25.0)],
        "logistic": [(-20.0, 20.0), (-750.0, 750.0)],
        "sin": [(-10.0, 10.0), (-wide, wide)],
        "cos": [(-10.0, 10.0), (-wide, wide)],
        "erf": [(-1.0, 1.0), (-7.0, 7.0)],
        "sqrt": [(0.0, 4.0), (0.0, 1e6)],
    }[name]


def multiples_of_half_pi(dtype) -> np.ndarray:
    small = np.arange(-2000, 2001) * (np.pi / 2)
    large = np.array([2.0**k * np.pi / 2 for k in range(0, 1000, 7)] + [1e22, 1e30, 1e300])
    values = np.concatenate([small, large, -large])
    return near(values[np.abs(values) <= np.finfo(dtype).max].astype(dtype), 2)


def unary_inputs(name: str, dtype) -> np.ndarray:
    rng = np.random.default_rng(hash((name, np.dtype(dtype).name)) % 2**32)
    parts = [special_values(dtype), near(np.array(thresholds(name, dtype), dtype=dtype), 4)]
    parts[-1] = np.concatenate([parts[-1], -parts[-1]])
    if name in ("sin", "cos"):
        parts.append(multiples_of_half_pi(dtype))
    parts.append(random_bits(rng, dtype, 300_000))
    parts.append(log_uniform(rng, dtype, 100_000, 1e-12, 1.0) * rng.choice([-1, 1], 100_000))
    ranges = dense_ranges(name, dtype)
    remaining = POINTS - sum(p.size for p in parts)
    for k, (lo, hi) in enumerate(ranges):
        count = remaining // len(ranges) + (remaining % len(ranges) if k == 0 else 0)
        parts.append(rng.uniform(lo, hi, count).astype(dtype))
    return np.concatenate([p.astype(dtype) for p in parts])


def pow_inputs(dtype, rng) -> tuple[np.ndarray, np.ndarray]:
    special = np.concatenate(
        [
            special_values(dtype)[:36],
            np.array([-1.0, 0.25, 1.5, 2.5, -2.5, -3.0, 1 / 3, 4.0, 1e-3], dtype=dtype),
        ]
    )
    grid_x, grid_y = (a.ravel() for a in np.meshgrid(special, special))
    xs, ys = [grid_x], [grid_y]
    count = 150_000
    xs.append(random_bits(rng, dtype, count))
    ys.append(random_bits(rng, dtype, count))
    mag = log_uniform(rng, dtype, count, 1e-4, 1e4)
    xs.append(mag * rng.choice([-1, 1], count))
    ys.append(rng.integers(-60, 61, count).astype(dtype) / rng.choice([1, 2], count))
    limit = 38.0 if dtype == np.float32 else 307.0
    xs.append(log_uniform(rng, dtype, count, 1e-300, 1e300).astype(dtype))
    ys.append(rng.uniform(-1, 1, count) * limit / np.maximum(np.abs(np.log10(xs[-1])), 0.1))
    near_one = (1 + rng.uniform(-1e-3, 1e-3, count)).astype(dtype)
    xs.append(near_one)
    ys.append(rng.uniform(-1e6, 1e6, count))
    remaining = POINTS - sum(x.size for x in xs)
    xs.append(rng.uniform(0, 10, remaining))
    ys.append(rng.uniform(-30, 30, remaining))
    return np.concatenate(xs).astype(dtype), np.concatenate(ys).astype(dtype)


# --- references -------------------------------------------------------------------------


def logistic(x):
    return 1 / (1 + np.exp(-x))


NUMPY = {"exp": np.exp, "expm1": np.expm1, "log": np.log, "log1p": np.log1p,
         "tanh": np.tanh, "logistic": logistic, "sin": np.sin, "cos": np.cos, "sqrt": np.sqrt,
         "erf": np.frompyfunc(math.erf, 1, 1), "pow": np.power}  # fmt: skip


def reference(name: str, dtype, *inputs: np.ndarray) -> np.ndarray:
    """The function in more precision: float64 for float32, long double for float64."""
    wide = np.float64 if dtype == np.float32 or name == "erf" else np.longdouble
    with np.errstate(all="ignore"):
        return np.asarray(NUMPY[name](*(x.astype(wide) for x in inputs)), dtype=wide)


def ulp_errors(got: np.ndarray, ref: np.ndarray, dtype) -> np.ndarray:
    """|got - ref| / ulp(ref) where ref is finite in `dtype`, after checking the rest."""
    with np.errstate(over="ignore"):
        ref_t = ref.astype(dtype)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref_t), err_msg="NaN positions")
    infinite = np.isinf(ref_t)
    np.testing.assert_array_equal(got[infinite], ref_t[infinite], err_msg="infinities")
    zero = (ref_t == 0) & (got == 0)
    np.testing.assert_array_equal(
        np.signbit(got[zero]), np.signbit(ref_t[zero]), err_msg="signs of zeros"
    )
    finite = np.isfinite(ref_t)
    return np.abs(got[finite].astype(ref.dtype) - ref[finite]) / ulp(ref_t[finite], ref.dtype)


def ulp(values: np.ndarray, wide) -> np.ndarray:
    """The spacing of `values`' dtype at each value (in [2^e, 2^(e+1)): 2^(e - mantissa bits))."""
    info = np.finfo(values.dtype)
    lowest = np.log2(info.smallest_subnormal).astype(int)
    _, exponent = np.frexp(values)
    exponent = np.where(values == 0, lowest, np.maximum(exponent - 1 - info.nmant, lowest))
    return np.ldexp(np.ones_like(values, dtype=wide), exponent)


def worst(errors: np.ndarray, *inputs: np.ndarray) -> str:
    at = int(np.nanargmax(errors))
    return f"{errors[at]:.3f} ulp at {[x[at] for x in inputs]}"


# --- tests ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", UNARY)
def test_unary_within_two_ulp(kernels, name, dtype):
    x = unary_inputs(name, dtype)
    assert x.size >= POINTS
    if name == "erf" and dtype == np.float64:
        x = np.concatenate([x[:5000], x[5000 :: (x.size // ERF64_SUBSAMPLE)]])
    got = kernels(name, dtype)(x)
    errors = ulp_errors(got, reference(name, dtype, x), dtype)
    with np.errstate(over="ignore"):
        finite_inputs = x[np.isfinite(reference(name, dtype, x).astype(dtype))]
    assert errors.max() <= MAX_ULP, f"{name} {np.dtype(dtype).name}: " + worst(
        errors, finite_inputs
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_pow_within_two_ulp(kernels, dtype):
    rng = np.random.default_rng(7 if dtype == np.float32 else 8)
    with np.errstate(all="ignore"):
        x, y = pow_inputs(dtype, rng)
    assert x.size >= POINTS
    got = kernels("pow", dtype)(x, y)
    ref = reference("pow", dtype, x, y)
    errors = ulp_errors(got, ref, dtype)
    with np.errstate(over="ignore"):
        finite = np.isfinite(ref.astype(dtype))
    assert errors.max() <= MAX_ULP, worst(errors, x[finite], y[finite])


def test_pow_special_cases_match_c99(kernels):
    inf, nan = np.inf, np.nan
    cases = [  # (x, y, expected), from the C99 standard's Annex F (NumPy follows it)
        (nan, 0.0, 1.0), (1.0, nan, 1.0), (-1.0, inf, 1.0), (-1.0, -inf, 1.0),
        (0.5, -inf, inf), (2.0, -inf, 0.0), (0.5, inf, 0.0), (-2.0, inf, inf),
        (-0.0, -3.0, -inf), (-0.0, -2.0, inf), (-0.0, 3.0, -0.0), (-0.0, 0.5, 0.0),
        (-inf, -3.0, -0.0), (-inf, 3.0, -inf), (-inf, 0.5, inf), (-inf, -0.5, 0.0),
        (inf, -1.0, 0.0), (-8.0, 1 / 3, nan), (-2.0, 3.0, -8.0), (-2.0, -2.0, 0.25),
    ]  # fmt: skip
    x, y, expected = (np.array(c, dtype=np.float64) for c in zip(*cases, strict=True))
    for dtype in DTYPES:
        got = kernels("pow", dtype)(x.astype(dtype), y.astype(dtype))
        np.testing.assert_array_equal(got, expected.astype(dtype))
        np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))


def host_has_avx2() -> bool:
    llvm.initialize_native_target()
    return bool(llvm.get_host_cpu_features().get("avx2", False))


@pytest.mark.parametrize("name", [*UNARY, "pow"])
def test_float32_loop_becomes_vector_code(kernels, name):
    if not host_has_avx2():
        pytest.skip("the host has no AVX2, so no 8-wide float vectors to expect")
    assert float_lanes(kernels(name, np.float32).compiled.optimized_ir) >= 8


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", [*UNARY, "pow"])
def test_no_calls_outside_llvm_intrinsics(kernels, name, dtype):
    optimized = kernels(name, dtype).compiled.optimized_ir
    declared = [line for line in optimized.splitlines() if line.startswith("declare")]
    assert all("@llvm." in line for line in declared), declared
    assert "funcgrad." not in optimized  # every math function was inlined away


def test_math_function_is_defined_once_internal_and_inlined():
    module = ir.Module()
    first = mathlib.math_function(module, "logistic", ir.DoubleType())
    assert mathlib.math_function(module, "logistic", ir.DoubleType()) is first
    assert first.linkage == "internal" and "alwaysinline" in first.attributes
    assert module.globals["funcgrad.exp.f64"].linkage == "internal"  # its helper
    assert "funcgrad.logistic.f32" not in module.globals


def test_kernel_runs_only_its_range_of_iterations(kernels):
    kernel = kernels("exp", np.float64)
    x = np.linspace(-3.0, 3.0, 10)
    out = np.full_like(x, -7.0)
    kernel.run_range(2, 6, [x], out)
    expected = np.where((np.arange(10) >= 2) & (np.arange(10) < 6), np.exp(x), -7.0)
    np.testing.assert_allclose(out, expected, rtol=1e-15)
