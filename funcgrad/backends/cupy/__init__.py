"""The CuPy backend: jit programs on an NVIDIA GPU, each fusion group one generated CUDA kernel.

What runs where. On any machine, without CuPy or a GPU: code generation
(`jit(f, backend="cupy").lower(x).compile().as_text()` shows the CUDA source; codegen.py
turns a fusion group into a kernel, indexing.py holds its index arithmetic, which the tests
check with NumPy; the tests compile every kernel with nvcc when it is installed, and run
the kernels on the host, a block's threads as host threads, against the NumPy backend). On
a machine with CuPy and a GPU: running the program (program.py): kernels compiled by
NVRTC through CuPy, matrix products in cuBLAS, other equations' impls on CuPy arrays,
inputs and outputs moved at the program's boundary. Calling a program without them raises
a RuntimeError saying what to install, or to use backend="llvm". Eager operations always
run on the host (NumPy); funcgrad Arrays hold host memory.
"""
