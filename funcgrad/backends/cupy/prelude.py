"""The C++ every generated kernel module starts with (codegen.py's kernels call it).

THREAD_PRELUDE is what one thread's code calls; BLOCK_PRELUDE combines a block's values
with warp shuffles and shared memory. The first is plain C++ but for the CUDA
qualifiers, which the tests define away to run kernels on the host.
"""

__all__ = ["THREAD_PRELUDE", "BLOCK_PRELUDE", "PRELUDE"]

# Helpers a thread's code calls: NaN-propagating float max/min (NumPy's and lax's), integer
# sums and products that wrap (signed overflow is undefined in C), the reduction combiners
# and argmax/argmin's step. Plain C++ but for the CUDA qualifiers, so the tests can run the
# kernels' code on the host as well.
THREAD_PRELUDE = r"""
template <typename T> __device__ __forceinline__ T fg_max(T a, T b) { return a > b ? a : b; }
template <typename T> __device__ __forceinline__ T fg_min(T a, T b) { return a < b ? a : b; }
__device__ __forceinline__ float fg_max(float a, float b) { return (a > b || a != a) ? a : b; }
__device__ __forceinline__ double fg_max(double a, double b) { return (a > b || a != a) ? a : b; }
__device__ __forceinline__ float fg_min(float a, float b) { return (a < b || a != a) ? a : b; }
__device__ __forceinline__ double fg_min(double a, double b) { return (a < b || a != a) ? a : b; }
template <typename T> __device__ __forceinline__ T fg_add(T a, T b) { return (T)(a + b); }
__device__ __forceinline__ int fg_add(int a, int b) {
  return (int)((unsigned int)a + (unsigned int)b);
}
__device__ __forceinline__ long long fg_add(long long a, long long b) {
  return (long long)((unsigned long long)a + (unsigned long long)b);
}
template <typename T> __device__ __forceinline__ T fg_mul(T a, T b) { return (T)(a * b); }
__device__ __forceinline__ unsigned short fg_mul(unsigned short a, unsigned short b) {
  return (unsigned short)((unsigned int)a * (unsigned int)b);
}
__device__ __forceinline__ int fg_mul(int a, int b) {
  return (int)((unsigned int)a * (unsigned int)b);
}
__device__ __forceinline__ long long fg_mul(long long a, long long b) {
  return (long long)((unsigned long long)a * (unsigned long long)b);
}
template <typename T> __device__ __forceinline__ bool fg_isnan(T v) { return false; }
__device__ __forceinline__ bool fg_isnan(float v) { return v != v; }
__device__ __forceinline__ bool fg_isnan(double v) { return v != v; }
#define FG_COMBINER(NAME, EXPRESSION) \
  struct NAME { \
    template <typename T> __device__ T operator()(T a, T b) const { return EXPRESSION; } \
  };
FG_COMBINER(fg_sum, fg_add(a, b))
FG_COMBINER(fg_prod, fg_mul(a, b))
FG_COMBINER(fg_maximum, fg_max(a, b))
FG_COMBINER(fg_minimum, fg_min(a, b))
FG_COMBINER(fg_and, (T)(a & b))
FG_COMBINER(fg_or, (T)(a | b))
FG_COMBINER(fg_xor, (T)(a ^ b))

// argmax/argmin: (value, position) pairs; a more extreme value wins, then the first NaN,
// and ties go to the lower position, as NumPy's argmax picks the first.
template <bool LARGEST, typename T>
__device__ __forceinline__ void fg_arg_step(T& v, long long& i, T w, long long j) {
  const bool v_nan = fg_isnan(v), w_nan = fg_isnan(w);
  bool take;
  if (v_nan || w_nan) take = w_nan && (!v_nan || j < i);
  else take = (LARGEST ? w > v : w < v) || (w == v && j < i);
  if (take) { v = w; i = j; }
}
"""

# The block-level tree reductions: a block's threads combine their values, and every
# thread gets the result.
BLOCK_PRELUDE = r"""
template <typename T> __device__ __forceinline__ T fg_shfl_down(T v, int delta) {
  return (T)__shfl_down_sync(0xffffffffu, v, delta);
}

// The block's values combined, returned to every thread: a tree within each warp, the
// warps' results through shared memory (`part`, one slot per warp), a tree over those.
template <typename T, typename Op>
__device__ T fg_block_reduce(T v, T identity, Op op, T* part) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int delta = 16; delta > 0; delta >>= 1) v = op(v, fg_shfl_down(v, delta));
  if (lane == 0) part[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < (int)(blockDim.x >> 5) ? part[lane] : identity;
    for (int delta = 16; delta > 0; delta >>= 1) v = op(v, fg_shfl_down(v, delta));
    if (lane == 0) part[0] = v;
  }
  __syncthreads();
  v = part[0];
  __syncthreads();
  return v;
}

// argmax/argmin's: the position of the block's winning pair.
template <bool LARGEST, typename T>
__device__ long long fg_block_arg_reduce(T v, long long i, T identity, T* part, long long* where) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int delta = 16; delta > 0; delta >>= 1)
    fg_arg_step<LARGEST>(v, i, fg_shfl_down(v, delta), fg_shfl_down(i, delta));
  if (lane == 0) { part[warp] = v; where[warp] = i; }
  __syncthreads();
  if (warp == 0) {
    const bool live = lane < (int)(blockDim.x >> 5);
    v = live ? part[lane] : identity;
    i = live ? where[lane] : 0x7fffffffffffffffLL;
    for (int delta = 16; delta > 0; delta >>= 1)
      fg_arg_step<LARGEST>(v, i, fg_shfl_down(v, delta), fg_shfl_down(i, delta));
    if (lane == 0) where[0] = i;
  }
  __syncthreads();
  i = where[0];
  __syncthreads();
  return i;
}
"""

PRELUDE = THREAD_PRELUDE + BLOCK_PRELUDE
