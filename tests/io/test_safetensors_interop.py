"""Files funcgrad writes are read by the reference `safetensors` library, and files it
writes are read by funcgrad. Skipped when the package is not installed (test extra)."""

from __future__ import annotations

import numpy as np
import pytest
from saved_dtypes import DTYPES

import funcgrad.io as fio

safetensors_numpy = pytest.importorskip("safetensors.numpy")
safe_open = pytest.importorskip("safetensors").safe_open


def _tensors() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    out = {}
    for i, dtype in enumerate(DTYPES):
        dtype = np.dtype(dtype)
        shape = [(2, 3), (), (0, 4), (5,)][i % 4]
        values = rng.standard_normal(shape) * 50
        if dtype.kind == "c":
            values = values + 1j * rng.standard_normal(shape)
        out[f"t.{dtype.name}"] = np.asarray(values).astype(dtype)
    return out


def _assert_same(actual: np.ndarray, expected: np.ndarray) -> None:
    actual = np.asarray(actual)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    assert actual.tobytes() == expected.tobytes()


def test_the_reference_library_reads_funcgrad_files(tmp_path, x64):
    tensors = _tensors()
    path = tmp_path / "ours.safetensors"
    fio.save(path, {"t": {name[2:]: value for name, value in tensors.items()}}, {"k": "v"})
    with safe_open(str(path), framework="np") as file:
        assert file.metadata()["k"] == "v"
        assert sorted(file.keys()) == sorted(tensors)
        for name, value in tensors.items():
            _assert_same(file.get_tensor(name), value)


def test_funcgrad_reads_reference_library_files(tmp_path, x64):
    tensors = _tensors()
    path = tmp_path / "theirs.safetensors"
    safetensors_numpy.save_file(tensors, str(path), metadata={"format": "np"})
    loaded = fio.load(path)
    assert fio.metadata(path) == {"format": "np"}
    for name, value in tensors.items():
        _assert_same(loaded["t"][name[2:]], value)


def test_pytorch_style_names_load_into_a_like_tree(tmp_path):
    tensors = {
        "layers.0.weight": np.ones((2, 3), np.float32),
        "layers.0.bias": np.zeros(2, np.float32),
        "layers.1.weight": np.full((1, 2), 3.0, np.float32),
    }
    path = tmp_path / "torchlike.safetensors"
    safetensors_numpy.save_file(tensors, str(path))
    like = {"layers": [{"weight": np.zeros((2, 3), np.float32), "bias": np.zeros(2, np.float32)}]}
    like["layers"].append({"weight": np.zeros((1, 2), np.float32)})
    loaded = fio.load(path, like=like)
    _assert_same(loaded["layers"][1]["weight"], tensors["layers.1.weight"])
    _assert_same(loaded["layers"][0]["bias"], tensors["layers.0.bias"])
