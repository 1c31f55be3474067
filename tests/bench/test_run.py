"""bench/run.py at smoke-test sizes: every workload runs once and all available
implementations agree with its NumPy reference; the NumPy references themselves agree with
finite differences; the report files are written. Nothing here is about speed. JAX and
PyTorch join in when they are installed and are not needed."""

import functools
import json

import numpy as np
import pytest

from bench import libraries, run
from bench.limits import Limits
from bench.workloads import WORKLOADS, cnn, control_flow, mlp, per_example
from bench.workloads.base import Instance, Workload, close_check, jit_implementations


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_every_implementation_agrees_with_the_reference(name):
    result = run.run_workload(WORKLOADS[name], "tiny", run.SCHEDULES["tiny"])
    assert "error" not in result, result.get("error")
    assert result["failed"] == {}
    timed_or_skipped = set(result["times"]) | set(result["skipped"])
    for backend in libraries.FUNCGRAD_BACKENDS:
        assert f"funcgrad-{backend}" in timed_or_skipped
    if libraries.jax is not None and name != "compile-cold" and name != "compile-warm":
        assert "jax" in result["times"]
    assert all(seconds > 0 for seconds in result["times"].values())


# --- the references are right: finite differences in float64 --------------------------------


def numeric_gradient(loss, params, name, index, step=1e-6):
    """Central difference of loss(params) in params[name][index]."""
    shifted = {k: v.copy() for k, v in params.items()}
    shifted[name][index] += step
    up = loss(shifted)
    shifted[name][index] -= 2 * step
    return (up - loss(shifted)) / (2 * step)


def some_indices(array, rng, count=3):
    return [tuple(rng.integers(0, n) for n in array.shape) for _ in range(count)]


def as_float64(params):
    return {k: v.astype(np.float64) for k, v in params.items()}


@pytest.mark.parametrize(
    "step, make_data",
    [
        (
            functools.partial(mlp.hand_train_step, np),
            lambda rng: mlp.train_data(rng, (6, 5, 4, 3), 4),
        ),
        (
            cnn.hand_train_step,
            lambda rng: (
                cnn.init_params(rng, (2, 3), hidden=5, classes=3, image=8),
                rng.normal(size=(2, 8, 8, 1)),
                np.eye(3)[rng.integers(0, 3, 2)],
            ),
        ),
    ],
    ids=["mlp", "cnn"],
)
def test_hand_written_train_steps_match_finite_differences(step, make_data):
    rng = np.random.default_rng(1)
    params, x, y = make_data(rng)
    params = as_float64(params)
    new_params, _ = step(params, x, y)
    for name, value in params.items():
        gradient = (value - new_params[name]) / mlp.LEARNING_RATE
        for index in some_indices(value, rng):
            expected = numeric_gradient(lambda p: step(p, x, y)[1], params, name, index)
            np.testing.assert_allclose(gradient[index], expected, rtol=1e-4, atol=1e-7)


def test_hand_written_rnn_gradient_matches_finite_differences():
    rng = np.random.default_rng(2)
    params = {
        k: rng.normal(size=s) * 0.5 for k, s in (("w_x", (3, 4)), ("w_h", (4, 4)), ("b", (4,)))
    }
    xs = rng.normal(size=(5, 2, 3))

    def loss(p):
        h = np.zeros((2, 4))
        for x in xs:
            h = np.tanh(x @ p["w_x"] + h @ p["w_h"] + p["b"])
        return np.mean(h * h)

    grads = control_flow.hand_rnn_grad(params, xs)
    for name, value in params.items():
        for index in some_indices(value, rng):
            expected = numeric_gradient(loss, params, name, index)
            np.testing.assert_allclose(grads[name][index], expected, rtol=1e-5, atol=1e-9)


def test_hand_written_per_example_gradients_match_finite_differences():
    rng = np.random.default_rng(3)
    params = {
        "w1": rng.normal(size=(4, 5)),
        "b1": rng.normal(size=5),
        "w2": rng.normal(size=(5, 3)),
        "b2": rng.normal(size=3),
    }
    xs, ys = rng.normal(size=(2, 4)), np.eye(3)[[0, 2]]
    grads = per_example.hand_per_example_grads(params, xs, ys)
    for example in range(2):

        def loss(p, example=example):
            return per_example.example_loss(np, p, xs[example], ys[example])

        for name, value in params.items():
            for index in some_indices(value, rng):
                expected = numeric_gradient(loss, params, name, index)
                got = grads[name][example][index]
                np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-9)


# --- failures are reported, not raised; the run's files ---------------------------------------


def test_a_wrong_implementation_is_reported_and_not_timed():
    expected = np.arange(3.0)

    def build(rng, size):
        implementations = {"numpy": lambda: expected.copy(), "torch": lambda: expected + 1}
        implementations["funcgrad-numpy"] = "needs something"
        return Instance(implementations, close_check("wrong", expected, 1e-6, 0.0))

    workload = Workload("wrong", "wrong {size}", {"tiny": {"size": 3}}, build)
    result = run.run_workload(workload, "tiny", run.SCHEDULES["tiny"])
    assert set(result["times"]) == {"numpy"}
    assert "wrong, torch, output 0; Mismatched elements: 3 / 3" in result["failed"]["torch"]
    assert result["skipped"] == {"funcgrad-numpy": "needs something"}


def test_a_workload_that_fails_to_build_is_reported():
    def build(rng, size):
        raise ValueError(f"cannot build size {size}")

    workload = Workload("broken", "broken", {"tiny": {"size": 2}}, build)
    result = run.run_workload(workload, "tiny", run.SCHEDULES["tiny"])
    assert result["error"] == "ValueError: cannot build size 2"
    assert result["times"] == {}


def test_a_library_lacking_an_operation_is_skipped_with_the_reason():
    class LaxWithoutConvolution:
        pass

    assert cnn.needs_convolution(LaxWithoutConvolution()) == (
        "needs lax.conv_general_dilated and lax.reduce_window"
    )
    implementations = jit_implementations(
        lambda api, np_like, lax: np_like.sin, (np.zeros(2),), lambda lax: "needs nothing real"
    )
    assert implementations["funcgrad-numpy"] == "needs nothing real"


def test_floor_is_the_larger_of_memory_and_compute_time():
    limits = Limits(bandwidth=10e9, flop_rate=100e9)
    assert limits.floor_seconds(2e9, 1e9) == (0.2, "memory")
    assert limits.floor_seconds(1e9, 50e9) == (0.5, "BLAS")


def test_run_writes_json_markdown_and_plot(tmp_path, capsys):
    results = run.main(["--tiny", "--only", "gelu", "--only", "dispatch", "--out", str(tmp_path)])
    assert [r["name"] for r in results] == ["gelu", "dispatch"]
    document = json.loads((tmp_path / "run.json").read_text())
    assert [w["name"] for w in document["workloads"]] == ["gelu", "dispatch"]
    assert document["workloads"][1]["unit"] == "µs"
    assert document["limits"]["copy_bytes_per_second"] > 0
    assert document["machine"]["versions"]["numpy"] == np.__version__
    assert all(document["workloads"][0]["times"][k] > 0 for k in ("numpy", "funcgrad-numpy"))
    markdown = (tmp_path / "performance.md").read_text()
    assert "| tanh-GELU, 1,000 float32 | ms |" in markdown
    assert "python bench/run.py --tiny --only gelu" in markdown
    printed = capsys.readouterr().out
    assert "jitted-call dispatch" in printed and "limits: copy" in printed
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in printed
    else:
        assert (tmp_path / "performance.png").read_bytes().startswith(b"\x89PNG")


def test_only_rejects_an_unknown_workload(capsys):
    with pytest.raises(SystemExit):
        run.main(["--only", "no-such-workload"])
    error = capsys.readouterr().err
    assert "invalid choice: 'no-such-workload'" in error and "gelu" in error


def test_list_names_every_workload(capsys):
    assert run.main(["--list", "--quick"]) == []
    printed = capsys.readouterr().out
    assert all(name in printed for name in WORKLOADS)
