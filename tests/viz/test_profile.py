"""Per-step profiles of jitted programs: one row per step the backend runs, in the
program's order, mapped to the user's lines; the instrumented program computes what the
ordinary one does, and the ordinary one carries no timing code."""

import numpy as np
import pytest
from viz_programs import (
    big_matmul_small_add,
    line_of,
    mlp_inputs,
    mlp_loss,
    scan_inputs,
    scan_then_cond,
)

import funcgrad as jax
from funcgrad import viz
from funcgrad.backends.llvm.program import compile_program as compile_llvm
from funcgrad.backends.numpy.codegen import compile_program as compile_numpy
from funcgrad.viz import Profile, ProfileRow


def test_numpy_backend_rows_follow_the_program():
    jitted = jax.jit(mlp_loss, backend="numpy")
    result = viz.profile(jitted, *mlp_inputs(), repeat=3)
    lowered = jitted.lower(*mlp_inputs())
    expected = [(n, (e.primitive.name,)) for n, g in enumerate(lowered.groups) for e in g.eqns]
    assert [(row.group, row.primitives) for row in result.rows] == expected
    assert result.backend == "numpy" and result.name == "mlp_loss" and result.repeat == 3
    hidden, loss = line_of(mlp_loss, "MLP_HIDDEN_LINE"), line_of(mlp_loss, "MLP_LOSS_LINE")
    by_primitive = {row.primitives[0]: row for row in result.rows}
    assert by_primitive["tanh"].sources == (f"viz_programs.py:{hidden} (mlp_loss)",)
    assert by_primitive["reduce_sum"].sources == (f"viz_programs.py:{loss} (mlp_loss)",)
    assert by_primitive["dot_general"].runs_as == "BLAS matmul"
    assert by_primitive["tanh"].runs_as == "NumPy kernel"
    assert by_primitive["tanh"].shape == "f32[4,5]"
    assert all(row.seconds >= 0 for row in result.rows)
    # The steps are timed inside each call, so they add up to at most the call.
    assert 0 < result.step_seconds <= result.total_seconds


def test_llvm_native_kernels_are_one_row_each(monkeypatch):
    monkeypatch.setenv("FUNCGRAD_LLVM_MIN_SIZE", "0")
    jitted = jax.jit(mlp_loss, backend="llvm")
    result = viz.profile(jitted, *mlp_inputs(), repeat=2)
    natives = [row for row in result.rows if row.runs_as == "native kernel"]
    assert natives and any(len(row.primitives) > 1 for row in natives)
    fused = max(natives, key=lambda row: len(row.primitives))
    hidden, loss = line_of(mlp_loss, "MLP_HIDDEN_LINE"), line_of(mlp_loss, "MLP_LOSS_LINE")
    assert set(fused.sources) <= {
        f"viz_programs.py:{hidden} (mlp_loss)",
        f"viz_programs.py:{loss} (mlp_loss)",
    }


def test_control_flow_is_one_step():
    result = viz.profile(jax.jit(scan_then_cond, backend="numpy"), *scan_inputs(), repeat=2)
    flows = [row.primitives for row in result.rows if row.runs_as == "control flow"]
    assert flows == [("scan",), ("cond",)]


def test_the_slow_step_is_the_slow_one():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 300, 300)).astype(np.float32)
    small = np.ones(3, np.float32)
    result = viz.profile(jax.jit(big_matmul_small_add, backend="numpy"), a, b, small, repeat=3)
    seconds = {row.primitives: row.seconds for row in result.rows}
    # 54 million flops against three additions.
    assert seconds[("dot_general",)] > 10 * seconds[("add",)]
    assert "dot_general" in result.table().splitlines()[2]  # slowest first


def test_static_arguments():
    def scaled(x, factor):
        return x * factor

    jitted = jax.jit(scaled, static_argnums=1, backend="numpy")
    result = viz.profile(jitted, np.ones(4, np.float32), 3.0, repeat=1)
    assert [row.primitives for row in result.rows] == [("mul",)]


def test_plain_function_is_jitted():
    result = viz.profile(mlp_loss, *mlp_inputs(), repeat=1)
    assert result.name == "mlp_loss" and result.rows


@pytest.mark.parametrize("compile_program", [compile_numpy, compile_llvm], ids=["numpy", "llvm"])
def test_instrumented_program_computes_the_same(compile_program, monkeypatch):
    monkeypatch.setenv("FUNCGRAD_LLVM_MIN_SIZE", "0")
    lowered = jax.jit(mlp_loss, backend="numpy").lower(*mlp_inputs())
    args = (lowered.optimized, lowered.groups, (False, False), "mlp_loss")
    plain, timed = compile_program(*args), compile_program(*args, profile=True)
    x, w = mlp_inputs()
    expected = np.sum(np.tanh(x @ w + 1.0) ** 2)
    np.testing.assert_allclose(plain(x, w)[0], expected, rtol=1e-5)
    np.testing.assert_allclose(timed(x, w)[0], expected, rtol=1e-5)
    assert "perf_counter" not in plain.source and not hasattr(plain, "timings")
    assert timed.source.count("perf_counter()") == 2 * len(timed.profile_steps)
    assert len(timed.timings) == len(timed.profile_steps) and all(t > 0 for t in timed.timings)


def test_by_source_shares_fused_time_evenly():
    rows = [
        ProfileRow(
            0, 0, "native kernel", ("add", "tanh"), "f32[3]", ("a.py:1 (f)", "a.py:2 (f)"), 4.0
        ),
        ProfileRow(1, 1, "NumPy kernel", ("mul",), "f32[3]", ("a.py:2 (f)",), 1.0),
        ProfileRow(2, 2, "impl", ("sort",), "f32[3]", ("-",), 0.5),
    ]
    result = Profile("f", "llvm", 1, rows, 6.0)
    assert result.by_source() == [("a.py:2 (f)", 3.0), ("a.py:1 (f)", 2.0), ("-", 0.5)]
    assert result.step_seconds == 5.5
    assert rows[2].sources == ()
    text = str(result)
    assert text.splitlines()[0] == (
        "jit(f) on llvm: 6000000.0 µs per call (5500000.0 µs in 3 steps), mean of 1 calls"
    )
    assert text.splitlines()[2].split()[:5] == ["0", "0", "native", "kernel", "add"]
    html = result._repr_html_()
    assert html.count("<tr>") == 4 and "<td>72.7</td>" in html  # 4 of 5.5 seconds


@pytest.mark.parametrize("repeat", [0, -1, 2.5, True])
def test_bad_repeat(repeat):
    with pytest.raises(ValueError, match=r"test_profile\.py.*repeat=.* must be a positive"):
        viz.profile(mlp_loss, *mlp_inputs(), repeat=repeat)


def test_not_a_function():
    with pytest.raises(
        TypeError, match=r"test_profile\.py.*profile\(f, x\), not profile\(f\(x\)\)"
    ):
        viz.profile(np.ones(3), repeat=1)
