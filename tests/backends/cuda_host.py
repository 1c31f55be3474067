"""Run the CuPy backend's programs on the host, for tests on machines without a GPU.

`HostCupy` stands in for the few parts of CuPy that funcgrad/backends/cupy/program.py uses:
arrays are NumPy's, and `RawModule` compiles the generated CUDA C, prelude included, with
the host's C++ compiler. HOST_SHIM defines the CUDA built-ins the kernels use: a launch
runs each block's threads as OS threads (blocks one after the other, so a kernel's
`__shared__` arrays, made `static`, are its block's shared memory), `__syncthreads` is a
barrier of the block's threads, and a warp shuffle trades values through memory between
two barriers of the warp's 32 threads. Launches use a small grid and two warps per block
(HOST_GRID, HOST_BLOCK), so grid-stride and block-stride loops, warp shuffles and the
shared-memory trees of the block reductions all do their work.

What this does not check: CUDA's own math functions (the host's libm stands in; an
erfinv is defined here) and the timing-dependent behaviour of a real GPU.
"""

from __future__ import annotations

import ctypes
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

from funcgrad.backends.cupy.prelude import PRELUDE

__all__ = ["CXX", "HostCupy", "HostLibrary", "compile_for_host", "launch_on_host"]

CXX = shutil.which("g++") or shutil.which("clang++")

# Blocks per launch at most, and threads per block (two warps), for every kernel: the
# kernels loop over whatever the grid does not cover, and read the block size at run time.
HOST_GRID, HOST_BLOCK = 2, 64

HOST_SHIM = r"""
#include <math.h>
#include <string.h>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

struct fg_dim3 { unsigned int x; };
static thread_local fg_dim3 blockIdx, threadIdx;
static fg_dim3 blockDim, gridDim;
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static

// A reusable barrier of `count` threads.
struct fg_barrier {
  std::mutex mutex;
  std::condition_variable changed;
  unsigned count = 0, waiting = 0;
  unsigned long generation = 0;
  void wait() {
    std::unique_lock<std::mutex> lock(mutex);
    const unsigned long mine = generation;
    if (++waiting == count) { waiting = 0; ++generation; changed.notify_all(); return; }
    changed.wait(lock, [&] { return generation != mine; });
  }
};
static fg_barrier fg_block_barrier;
static fg_barrier fg_warp_barriers[32];
static unsigned long long fg_lanes[1024];

static inline void __syncthreads() { fg_block_barrier.wait(); }

template <typename T> static T __shfl_down_sync(unsigned int, T value, int delta) {
  const unsigned t = threadIdx.x, lane = t & 31;
  memcpy(&fg_lanes[t], &value, sizeof(T));
  fg_warp_barriers[t >> 5].wait();
  T other = value;
  if (lane + delta < 32) memcpy(&other, &fg_lanes[t + delta], sizeof(T));
  fg_warp_barriers[t >> 5].wait();
  return other;
}

template <typename F> static void fg_run(F kernel, unsigned grid, unsigned block) {
  gridDim.x = grid;
  blockDim.x = block;
  fg_block_barrier.count = block;
  for (unsigned w = 0; w < block / 32; ++w) fg_warp_barriers[w].count = 32;
  for (unsigned b = 0; b < grid; ++b) {
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < block; ++t)
      threads.emplace_back([=] { blockIdx.x = b; threadIdx.x = t; kernel(); });
    for (auto& thread : threads) thread.join();
  }
}

static inline float __uint_as_float(unsigned int u) { float f; memcpy(&f, &u, 4); return f; }
static inline float __int_as_float(int u) { float f; memcpy(&f, &u, 4); return f; }
static inline int __float_as_int(float f) { int u; memcpy(&u, &f, 4); return u; }
static inline unsigned int __float_as_uint(float f) { unsigned int u; memcpy(&u, &f, 4); return u; }
static inline long long __double_as_longlong(double d) { long long u; memcpy(&u, &d, 8); return u; }
static inline double __longlong_as_double(long long u) { double d; memcpy(&d, &u, 8); return d; }
static inline int __popc(unsigned int x) { return __builtin_popcount(x); }
static inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
static inline double rsqrt(double x) { return 1.0 / sqrt(x); }
// libm has no erfinv: bisection on erf, exact enough to stand in for CUDA's.
static inline double erfinv(double y) {
  if (!(y > -1.0 && y < 1.0)) return y == 1.0 ? INFINITY : (y == -1.0 ? -INFINITY : NAN);
  if (y == 0.0) return y;  // exact, as CUDA's erfinv
  double low = -6.0, high = 6.0;
  for (int step = 0; step < 100; ++step) {
    const double middle = 0.5 * (low + high);
    if (erf(middle) < y) low = middle; else high = middle;
  }
  return 0.5 * (low + high);
}
static inline float erfinvf(float y) { return (float)erfinv(y); }
"""

_SIGNATURE = re.compile(r'extern "C" __global__ void (\w+)\(([^)]*)\)')


def _launcher(name: str, parameters: str) -> str:
    """A C entry point running kernel `name` over a grid: its arguments as void pointers."""
    types = [p.split(" __restrict__")[0] for p in parameters.split(", ")] if parameters else []
    args = ", ".join(f"({ty})args[{i}]" for i, ty in enumerate(types))
    return (
        f'extern "C" void fg_launch_{name}(void** args, unsigned grid, unsigned block) {{\n'
        f"  fg_run([&] {{ {name}({args}); }}, grid, block);\n}}\n"
    )


_COMMAND = [CXX, "-O0", "-std=c++17", "-pthread", "-fPIC", "-w"] if CXX else []


def _host_header(directory: Path) -> str:
    """The shim and the prelude as a precompiled header in `directory` (made once): every
    module includes it first, which cuts a module's compile from ~0.35 s to ~0.1 s."""
    text = HOST_SHIM + PRELUDE
    name = f"fg_host_{hashlib.sha1(text.encode()).hexdigest()[:16]}.h"
    header = directory / name
    if not (directory / f"{name}.gch").exists():
        header.write_text(text)
        result = subprocess.run(
            [*_COMMAND, "-x", "c++-header", str(header), "-o", f"{header}.gch"],
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise RuntimeError(f"host compile of the shim failed:\n{result.stderr[-4000:]}")
    return name


def compile_for_host(directory: Path, source: str) -> tuple[ctypes.CDLL, list[str]]:
    """A module of generated kernels compiled for the host into `directory` (once per
    source text): the loaded library and its kernels' names; kernel `k` runs through
    `fg_launch_k(void** args, unsigned grid, unsigned block)`."""
    signatures = _SIGNATURE.findall(source)
    bodies = source[source.index('extern "C"') :] if signatures else ""
    header = _host_header(directory)
    launchers = "".join(_launcher(*s) for s in signatures)
    text = f'#include "{header}"\n' + bodies + launchers
    digest = hashlib.sha1(text.encode()).hexdigest()[:16]
    path = directory / f"kernels_{digest}.so"
    if not path.exists():
        source_path = directory / f"kernels_{digest}.cpp"
        source_path.write_text(text)
        result = subprocess.run(
            [*_COMMAND, "-shared", f"-I{directory}", str(source_path), "-o", str(path)],
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise RuntimeError(f"host compile failed:\n{result.stderr[-4000:]}")
    library = ctypes.CDLL(str(path))
    names = [name for name, _ in signatures]
    for name in names:
        function = getattr(library, f"fg_launch_{name}")
        function.restype = None
        function.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_uint, ctypes.c_uint]
    return library, names


def launch_on_host(function, grid, block, pointers: list[int]) -> None:
    """Run a kernel compiled by compile_for_host as CuPy would launch it with `grid` and
    `block`, over HOST_GRID blocks of HOST_BLOCK threads (its loops cover the rest)."""
    (blocks,), (threads,) = grid, block
    assert threads % 32 == 0, "kernels are launched with whole warps"
    arguments = (ctypes.c_void_p * max(len(pointers), 1))(*pointers)
    function(arguments, min(blocks, HOST_GRID), HOST_BLOCK)


class HostLibrary:
    """Kernels compiled for the host into shared libraries in `directory`, by name."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.functions: dict[str, ctypes._CFuncPtr] = {}
        self.libraries: list = []  # kept alive while their functions are used

    def add(self, source: str) -> None:
        """Compile a module of generated kernels, unless all of them are compiled already."""
        if all(name in self.functions for name, _ in _SIGNATURE.findall(source)):
            return
        library, names = compile_for_host(self.directory, source)
        self.libraries.append(library)
        for name in names:
            self.functions[name] = getattr(library, f"fg_launch_{name}")


class _Module:
    def __init__(self, cupy: "HostCupy"):
        self.cupy = cupy

    def get_function(self, name: str):
        function = self.cupy.library.functions[name]

        def launch(grid, block, args):
            self.cupy.launched.append(name)
            launch_on_host(function, grid, block, [a.ctypes.data for a in args])

        return launch


class HostCupy:
    """The parts of CuPy the CuPy backend's programs use, on the host."""

    ndarray = np.ndarray
    empty = staticmethod(np.empty)
    asarray = staticmethod(np.asarray)
    asnumpy = staticmethod(np.asarray)
    matmul = staticmethod(np.matmul)

    def __init__(self, library: HostLibrary):
        self.library = library
        self.launched: list[str] = []  # the kernels run, by name

    def RawModule(self, code: str) -> _Module:  # noqa: N802 (CuPy's name)
        self.library.add(code)
        return _Module(self)
