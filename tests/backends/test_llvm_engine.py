"""The LLVM engine's kernel cache (memory and disk) and the multi-threaded kernel runner.

Kernels are written by hand here, `y[i] = x[i] * scale + offset` over float32, so the tests
depend on nothing but the engine; NumPy computes the same float32 operations (LLVM does not
contract the multiply and add into an FMA without fast-math flags), so values must match
exactly. Each cache test uses its own constants, hence its own IR and cache key.
"""

import ctypes
import gc
import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from llvm_harness import float_lanes

from funcgrad.backends.llvm import engine, threads

KERNEL_TEMPLATE = """
define void @scale_offset(i64 %start, i64 %stop, ptr %pointers) {
entry:
  %x = load ptr, ptr %pointers
  %y_slot = getelementptr ptr, ptr %pointers, i64 1
  %y = load ptr, ptr %y_slot
  br label %head
head:
  %i = phi i64 [%start, %entry], [%next, %body]
  %done = icmp sge i64 %i, %stop
  br i1 %done, label %exit, label %body
body:
  %x_at = getelementptr float, ptr %x, i64 %i
  %xi = load float, ptr %x_at
  %scaled = fmul float %xi, SCALE
  %yi = fadd float %scaled, OFFSET
  %y_at = getelementptr float, ptr %y, i64 %i
  store float %yi, ptr %y_at
  %next = add i64 %i, 1
  br label %head
exit:
  ret void
}
"""


def kernel_ir(scale: float, offset: float) -> str:
    return KERNEL_TEMPLATE.replace("SCALE", repr(float(scale))).replace(
        "OFFSET", repr(float(offset))
    )


def pointer_array(*arrays: np.ndarray):
    return (ctypes.c_void_p * len(arrays))(*(array.ctypes.data for array in arrays))


def run_compiled(compiled: engine.CompiledModule, x: np.ndarray) -> np.ndarray:
    kernel = compiled.cfunc("scale_offset", engine.KERNEL_SIGNATURE)
    y = np.zeros_like(x)
    kernel(0, x.size, pointer_array(x, y))
    return y


def stats_delta(before: dict[str, int]) -> dict[str, int]:
    after = engine.cache_stats()
    return {name: after[name] - before[name] for name in after}


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A fresh disk cache, and no module from earlier tests in memory."""
    monkeypatch.setenv("FUNCGRAD_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("FUNCGRAD_DISK_CACHE", raising=False)
    engine.clear_memory_cache()
    return tmp_path / "llvm"


X = np.linspace(-4.0, 4.0, 37, dtype=np.float32)


def cache_files(directory) -> list[str]:
    return sorted(os.listdir(directory)) if directory.exists() else []


# --- the cache ----------------------------------------------------------------------------


def test_same_ir_compiles_once(cache_dir):
    before = engine.cache_stats()
    first = engine.compile_ir(kernel_ir(2, 1))
    second = engine.compile_ir(kernel_ir(2, 1))
    assert second is first
    assert stats_delta(before) == {"compiled": 1, "memory_hits": 1, "disk_hits": 0}
    np.testing.assert_array_equal(run_compiled(first, X), X * np.float32(2) + np.float32(1))


def test_unoptimized_compile_gives_the_same_values_under_its_own_key(cache_dir):
    text = kernel_ir(1.75, -0.5)
    x = np.linspace(-4, 4, 1001, dtype=np.float32)
    fast = engine.compile_ir(text, optimize=False)
    optimized = engine.compile_ir(text)
    assert fast is not optimized
    assert float_lanes(fast.optimized_ir) == 0  # not vectorized: the optimizer never ran
    assert float_lanes(optimized.optimized_ir) >= 4
    assert engine.kernel_key(text, optimize=False) != engine.kernel_key(text)
    np.testing.assert_array_equal(run_compiled(fast, x), x * np.float32(1.75) - np.float32(0.5))
    np.testing.assert_array_equal(run_compiled(optimized, x), run_compiled(fast, x))


def test_disk_entry_is_reused_after_memory_is_cleared(cache_dir):
    engine.compile_ir(kernel_ir(3, -1))
    engine.clear_memory_cache()
    before = engine.cache_stats()
    loaded = engine.compile_ir(kernel_ir(3, -1))
    assert stats_delta(before) == {"compiled": 0, "memory_hits": 0, "disk_hits": 1}
    np.testing.assert_array_equal(run_compiled(loaded, X), X * np.float32(3) - np.float32(1))
    assert "fmul" in loaded.optimized_ir


SECOND_PROCESS = """
import json, sys, ctypes
import numpy as np
from funcgrad.backends.llvm import engine
compiled = engine.compile_ir(open(sys.argv[1]).read())
x = np.arange(-5, 6, dtype=np.float32)
y = np.zeros_like(x)
kernel = compiled.cfunc("scale_offset", engine.KERNEL_SIGNATURE)
kernel(0, x.size, (ctypes.c_void_p * 2)(x.ctypes.data, y.ctypes.data))
print(json.dumps({"stats": engine.cache_stats(), "y": y.tolist()}))
"""


def test_second_process_compiles_nothing(cache_dir, tmp_path):
    ir_text = kernel_ir(5, 0.5)
    engine.compile_ir(ir_text)
    ir_file = tmp_path / "kernel.ll"
    ir_file.write_text(ir_text)
    result = subprocess.run(
        [sys.executable, "-c", SECOND_PROCESS, str(ir_file)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, FUNCGRAD_CACHE_DIR=str(tmp_path)),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["stats"] == {"compiled": 0, "memory_hits": 0, "disk_hits": 1}
    x = np.arange(-5, 6, dtype=np.float32)
    np.testing.assert_array_equal(report["y"], x * np.float32(5) + np.float32(0.5))


def flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 0xFF])


def flip_object_byte(data: bytes) -> bytes:
    header_end = data.index(b"\n") + 1
    at = header_end + 100  # inside the object code, past the ELF header
    return data[:at] + bytes([data[at] ^ 0x5A]) + data[at + 1 :]


DAMAGE = {
    "empty": lambda data: b"",
    "truncated": lambda data: data[: len(data) // 2],
    "flipped object byte": flip_object_byte,
    "flipped last byte": flip_last_byte,
    "garbage": lambda data: b"\x7fELF" + bytes(range(256)) * 4,
    "header only": lambda data: data[: data.index(b"\n") + 1],
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_damaged_entry_is_recompiled_and_replaced(cache_dir, damage):
    ir_text = kernel_ir(-2, 4)
    engine.compile_ir(ir_text)
    (entry,) = cache_dir.iterdir()
    intact = entry.read_bytes()
    entry.write_bytes(DAMAGE[damage](intact))
    engine.clear_memory_cache()

    before = engine.cache_stats()
    compiled = engine.compile_ir(ir_text)
    assert stats_delta(before) == {"compiled": 1, "memory_hits": 0, "disk_hits": 0}
    np.testing.assert_array_equal(run_compiled(compiled, X), X * np.float32(-2) + np.float32(4))
    assert entry.read_bytes() == intact  # code generation is deterministic


def test_entry_of_another_key_is_not_used(cache_dir):
    engine.compile_ir(kernel_ir(6, 0))
    engine.compile_ir(kernel_ir(7, 0))
    six, seven = (cache_dir / (engine.kernel_key(kernel_ir(s, 0)) + ".kernel") for s in (6, 7))
    six.write_bytes(seven.read_bytes())  # a whole, valid entry, filed under the wrong key
    engine.clear_memory_cache()
    before = engine.cache_stats()
    compiled = engine.compile_ir(kernel_ir(6, 0))
    assert stats_delta(before)["compiled"] == 1
    np.testing.assert_array_equal(run_compiled(compiled, X), X * np.float32(6))


def test_different_ir_gets_its_own_entry(cache_dir):
    engine.compile_ir(kernel_ir(8, 1))
    engine.compile_ir(kernel_ir(8, 2))
    keys = {engine.kernel_key(kernel_ir(8, 1)), engine.kernel_key(kernel_ir(8, 2))}
    assert len(keys) == 2
    assert cache_files(cache_dir) == sorted(key + ".kernel" for key in keys)


def test_writes_leave_no_temporary_files(cache_dir):
    for offset in range(3):
        engine.compile_ir(kernel_ir(9, offset))
    names = cache_files(cache_dir)
    assert len(names) == 3
    assert all(name.endswith(".kernel") and not name.startswith(".") for name in names)


def test_invalid_ir_raises_with_the_ir_and_writes_nothing(cache_dir):
    bad = kernel_ir(2, 1).replace("%yi = fadd float %scaled", "%yi = fadd double %scaled")
    with pytest.raises(engine.KernelCompileError) as caught:
        engine.compile_ir(bad)
    assert caught.value.ir == bad
    assert bad in str(caught.value)
    assert cache_files(cache_dir) == []


def test_unwritable_cache_directory_is_skipped(tmp_path, monkeypatch):
    blocker = tmp_path / "a file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("FUNCGRAD_CACHE_DIR", str(blocker / "cache"))
    engine.clear_memory_cache()
    compiled = engine.compile_ir(kernel_ir(10, 1))
    np.testing.assert_array_equal(run_compiled(compiled, X), X * np.float32(10) + np.float32(1))


def test_disk_cache_can_be_turned_off(cache_dir, monkeypatch):
    monkeypatch.setenv("FUNCGRAD_DISK_CACHE", "0")
    assert engine.cache_directory() is None
    engine.compile_ir(kernel_ir(11, 1))
    assert cache_files(cache_dir) == []
    monkeypatch.setenv("FUNCGRAD_DISK_CACHE", "maybe")
    with pytest.raises(ValueError, match="FUNCGRAD_DISK_CACHE"):
        engine.cache_directory()


def test_default_cache_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("FUNCGRAD_DISK_CACHE", raising=False)
    monkeypatch.setenv("FUNCGRAD_CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert engine.cache_directory() == tmp_path / "funcgrad" / "llvm"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert engine.cache_directory() == tmp_path / ".cache" / "funcgrad" / "llvm"


def test_assembly_is_kept_and_cached_when_asked(cache_dir):
    plain = engine.compile_ir(kernel_ir(12, 1))
    assert plain.assembly == ""
    before = engine.cache_stats()
    listed = engine.compile_ir(kernel_ir(12, 1), keep_assembly=True)
    assert stats_delta(before)["compiled"] == 1  # the cached module had no listing
    assert "scale_offset:" in listed.assembly
    engine.clear_memory_cache()
    before = engine.cache_stats()
    reloaded = engine.compile_ir(kernel_ir(12, 1), keep_assembly=True)
    assert stats_delta(before)["disk_hits"] == 1
    assert reloaded.assembly == listed.assembly


def test_missing_function_is_a_key_error(cache_dir):
    compiled = engine.compile_ir(kernel_ir(13, 1))
    with pytest.raises(KeyError, match="no_such_kernel"):
        compiled.address("no_such_kernel")


def test_freed_modules_leave_later_compiles_working(cache_dir):
    # An execution engine owns the target machine it was made with; freeing one must not
    # free the machine that later compiles use.
    engine.compile_ir(kernel_ir(14, 1))
    engine.clear_memory_cache()
    gc.collect()
    compiled = engine.compile_ir(kernel_ir(14, 2))
    np.testing.assert_array_equal(run_compiled(compiled, X), X * np.float32(14) + np.float32(2))


# --- the threaded runner ------------------------------------------------------------------

GUARD = 64
SENTINEL = np.float32(-12345.0)


@pytest.fixture(scope="module")
def scale_offset_kernel():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FUNCGRAD_DISK_CACHE", "0")  # keep the user's cache out of the tests
        compiled = engine.compile_ir(kernel_ir(2, 1))
    return compiled.cfunc("scale_offset", engine.KERNEL_SIGNATURE)


def guarded_output(n: int) -> tuple[np.ndarray, np.ndarray]:
    """An output of n elements inside a buffer whose guard elements hold a sentinel."""
    buffer = np.full(n + 2 * GUARD, SENTINEL, dtype=np.float32)
    return buffer, buffer[GUARD : GUARD + n]


@pytest.mark.parametrize("n", [0, 1, 7, 1_000_003])
def test_run_kernel_matches_numpy_and_stays_in_bounds(scale_offset_kernel, n):
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    buffer, y = guarded_output(n)
    threads.run_kernel(scale_offset_kernel, n, pointer_array(x, y), work_per_iteration=2)
    np.testing.assert_array_equal(y, x * np.float32(2) + np.float32(1))
    assert (buffer[:GUARD] == SENTINEL).all() and (buffer[GUARD + n :] == SENTINEL).all()


def recording(kernel, calls: list):
    """`kernel`, noting the thread and range of every call."""

    def run(start, stop, pointers):
        calls.append((threading.get_ident(), start, stop))
        kernel(start, stop, pointers)

    return run


def test_big_work_is_split_across_threads(scale_offset_kernel):
    runner = threads.ChunkRunner(3, threshold=1000)
    try:
        n = 100_001
        x = np.arange(n, dtype=np.float32)
        buffer, y = guarded_output(n)
        calls = []
        runner.run(recording(scale_offset_kernel, calls), n, pointer_array(x, y))
    finally:
        runner.shutdown()
    ranges = sorted((start, stop) for _, start, stop in calls)
    assert ranges == [(0, 33334), (33334, 66668), (66668, 100001)]
    # The caller runs the first chunk; the pool's threads (whichever is free) the others.
    caller = threading.get_ident()
    assert [(start, stop) for ident, start, stop in calls if ident == caller] == [(0, 33334)]
    np.testing.assert_array_equal(y, x * np.float32(2) + np.float32(1))
    assert (buffer[:GUARD] == SENTINEL).all() and (buffer[GUARD + n :] == SENTINEL).all()


@pytest.mark.parametrize("n, work_per_iteration", [(7, 1.0), (999, 1.0), (10, 99.0)])
def test_small_work_runs_on_the_calling_thread(scale_offset_kernel, n, work_per_iteration):
    runner = threads.ChunkRunner(3, threshold=1000)
    try:
        x = np.ones(n, dtype=np.float32)
        y = np.zeros(n, dtype=np.float32)
        calls = []
        runner.run(
            recording(scale_offset_kernel, calls),
            n,
            pointer_array(x, y),
            work_per_iteration=work_per_iteration,
        )
    finally:
        runner.shutdown()
    assert calls == [(threading.get_ident(), 0, n)]
    np.testing.assert_array_equal(y, np.full(n, 3, dtype=np.float32))


def test_error_in_a_chunk_is_raised_after_every_chunk_finished():
    runner = threads.ChunkRunner(2, threshold=0)
    finished = []

    def kernel(start, stop, pointers):
        if start == 0:
            raise RuntimeError("chunk failed")  # the caller's chunk fails at once
        threading.Event().wait(0.05)
        finished.append((start, stop))

    try:
        with pytest.raises(RuntimeError, match="chunk failed"):
            runner.run(kernel, 10, None)
        assert finished == [(5, 10)]  # the pool's chunk had finished before run returned
    finally:
        runner.shutdown()


@pytest.mark.parametrize(
    "n, parts, expected",
    [
        (0, 4, [(0, 0)]),
        (1, 4, [(0, 1)]),
        (3, 4, [(0, 1), (1, 2), (2, 3)]),
        (8, 4, [(0, 2), (2, 4), (4, 6), (6, 8)]),
        (10, 4, [(0, 3), (3, 6), (6, 8), (8, 10)]),
    ],
)
def test_chunk_bounds(n, parts, expected):
    assert threads.chunk_bounds(n, parts) == expected


def test_thread_count_from_environment(monkeypatch):
    monkeypatch.setenv("FUNCGRAD_NUM_THREADS", "3")
    assert threads.default_thread_count() == 3
    monkeypatch.setenv("FUNCGRAD_NUM_THREADS", "0")
    with pytest.raises(ValueError, match="FUNCGRAD_NUM_THREADS"):
        threads.default_thread_count()
    monkeypatch.delenv("FUNCGRAD_NUM_THREADS")
    assert threads.default_thread_count() == len(os.sched_getaffinity(0))
