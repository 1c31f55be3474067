"""Vectorizable math functions written in LLVM IR, for the kernels of the LLVM backend.

`math_function(module, "exp", ir.FloatType())` adds (once per module) an internal,
`alwaysinline` definition of exp for float32 scalars and returns it. The bodies use only
arithmetic, comparisons, `select`, integer operations on bit patterns and intrinsics that
have vector forms (fma, fabs, rint, trunc, copysign, minnum/maxnum, sqrt, fshl): no libm
calls and no branches. Once a kernel's loop has inlined them, LLVM's loop vectorizer turns
the loop into vector code (`<8 x float>` with AVX2) as it would plain arithmetic.

Accuracy is at most 2 ulp (measured: 1.5 at worst) over the whole range of both types,
special values (signed zeros, infinities, NaN, subnormals, overflow and underflow) included;
tests/backends/test_llvm_mathlib.py measures it against NumPy. float32 functions compute in
float32 where they can (8 lanes per AVX2 vector instead of 4 for double). The recipes:
- exp, expm1: n = rint(x / ln2), r = x - n ln2 with fma (exact first step), a polynomial
  in r, and 2^n applied in two halves so subnormal results round once.
- log, log1p: the mantissa m in [sqrt(1/2), sqrt(2)) and exponent k from the bits,
  log(m) = 2 atanh(s), s = (m - 1) / (m + 1), arranged so the large term m - 1 is exact.
- tanh, logistic: float64 through expm1 and exp with error-free corrections of their
  divisions. float32 tanh: an odd polynomial near 0, else 1 - 2 / (exp(2|x|) + 1) (1.07 ulp
  measured); float32 logistic: exp(-|x|) = 2^n (1 + s) kept unrounded in float-float sums
  and a corrected quotient (1.0 ulp measured).
- sin, cos: the argument times 2/pi reduced modulo 4 exactly, in integers, against a
  window of the bits of 2/pi that a barrel shifter of `select`s picks (Payne-Hanek's idea
  without a table load), so huge arguments are right too; float32 works in double.
- erf: float64: x P(x^2) below 1, else 1 - exp(-x^2) G(x) with G a polynomial per
  interval. float32: x + x P(x^2) below 0.875, else 1 - exp(L(x)) with L a fit of
  log(erfc) (0.95 ulp measured).
- pow: exp(y log|x|), with log and the product in double-double for float64 (in double for
  float32), and the C99 special cases that NumPy's `power` follows.

Polynomial coefficients are near-minimax fits made offline with mpmath (60 digits):
weighted least squares on 400 Chebyshev nodes with 30 Lawson reweighting passes, for the
relative error of the function, then rounded to the target type. The printed residual
(log2 of the worst weighted error) is noted beside each table. The float32-only tables (tanh,
erf) were fitted the same way in float64 arithmetic, ample for float32 targets.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from llvmlite import ir

__all__ = ["MATH_FUNCTIONS", "math_function"]

F32 = ir.FloatType()
F64 = ir.DoubleType()
I1 = ir.IntType(1)
I32 = ir.IntType(32)
I64 = ir.IntType(64)

# --- constants --------------------------------------------------------------------------

LOG2E = 1.4426950408889634
# ln2 = hi + lo: with fma, x - n hi is exact for the n that exp and log meet
LN2 = {F32: (0.6931471824645996, -1.9046542121259336e-09),
       F64: (0.6931471805599453, 2.3190468138462996e-17)}  # fmt: skip
PIO2_HI, PIO2_LO = 1.5707963267948966, 6.123233995736766e-17
TWO_THIRDS = (0.6666666666666666, 3.700743415417188e-17)
TWO_FIFTHS = (0.4, 2.2204460492503132e-17)

# exp(r) = 1 + r + r^2 P(r), |r| <= ln2/2 (residual 2^-56.1 / 2^-27.7)
EXP_P = {
    F64: (0.5000000000000012, 0.16666666666666385, 0.04166666666651912, 0.008333333333507656,
          0.0013888888946926535, 0.0001984126948620416, 2.4801489346019288e-05,
          2.7557597131397077e-06, 2.7631689399546513e-07, 2.4999013882372623e-08),
    F32: (0.4999999403953552, 0.16666515171527863, 0.04166845604777336, 0.00836941972374916,
          0.0013813135446980596),
}  # fmt: skip
# expm1(r) = r + r^2/2 + r^3 P(r) (residual 2^-54.9 / 2^-25.9)
EXPM1_P = {
    F64: (0.16666666666666596, 0.04166666666661617, 0.008333333333392916,
          0.0013888888922424913, 0.00019841269701273637, 2.4801513509080417e-05,
          2.75574293623746e-06, 2.762351347846187e-07, 2.5045767508649194e-08),
    F32: (0.1666654348373413, 0.04166686162352562, 0.008366690017282963, 0.001389846089296043),
}  # fmt: skip
# tanh(x) = x + x^3 P(x^2) for |x| < TANH_SWITCH (float32; relative residual 2^-29.2)
TANH_SWITCH = 0.75
TANH_P = (-0.33333316445350647, 0.1333269476890564, -0.053892724215984344,
          0.021452030166983604, -0.007657248061150312, 0.0017369315028190613)  # fmt: skip
# 2 atanh(s) = 2s + s z Q(z), z = s^2 <= 0.0297 (residual 2^-61.2 / 2^-29.7)
LOG_Q = {
    F64: (0.6666666666666666, 0.400000000000067, 0.2857142856894009, 0.22222222668773212,
          0.18181773905878906, 0.15387167737011376, 0.13248381582399582, 0.13267126090618894),
    F32: (0.6666678190231323, 0.3997707962989807, 0.29885202646255493),
}  # fmt: skip
# sin(r) = r + r^3 S(r^2), cos(r) = 1 - r^2/2 + r^4 C(r^2), |r| <= pi/4 (2^-57.2, 2^-59.5)
SIN_S = (-0.16666666666666666, 0.008333333333333323, -0.00019841269841254386,
         2.7557319213831242e-06, -2.505210481653472e-08, 1.6058354339448733e-10,
         -7.578080416208901e-13)  # fmt: skip
COS_C = (0.041666666666666664, -0.0013888888888888872, 2.4801587301569687e-05,
         -2.7557319214630325e-07, 2.0876754204339247e-09, -1.1470275495025629e-11,
         4.7373305284905474e-14)  # fmt: skip
# erf(x) = x E(x^2) for |x| < 1 (residual 2^-54.8, rounding-limited)
ERF_E = (1.1283791670955126, -0.3761263890318375, 0.11283791670954857, -0.026866170645072893,
         0.005223977624780849, -0.0008548326978741189, 0.0001205533103686271,
         -1.492559350600707e-05, 1.6460972802945865e-06, -1.635002507471024e-07,
         1.4657878858539824e-08, -1.1365662212128456e-09, 5.945255506213436e-11)  # fmt: skip
# erfc(x) = exp(-x^2) G(x - c) on [start, next start): (start, c, G), relative residuals
# 2^-56.3, 2^-53.8, 2^-43.9, 2^-37.2 (erfc's share of erf shrinks faster than they grow)
ERF_G = (
    (1.0, 1.25, (0.3678229164523611, -0.20882187596460985, 0.10679557149659845,
                 -0.050218274395907835, 0.022011364250945863, -0.009081627632913277,
                 0.003553109894708903, -0.001325782929800955, 0.0004739706998246454,
                 -0.00016296005266540516, 5.404492633723098e-05, -1.7342336095208197e-05,
                 5.501641799986947e-06, -1.6567569432628756e-06, 0.0)),
    (1.5, 2.0, (0.25539567631050575, -0.10679646185348994, 0.04180275260352624,
                -0.015460637764239685, 0.005440738537484808, -0.001831664277959066,
                0.0005924699952730675, -0.00018477832485657125, 5.572831176363623e-05,
                -1.629413240643909e-05, 4.628236360633238e-06, -1.2773665079763878e-06,
                3.4444328844923456e-07, -9.643117406053477e-08, 2.4605407048621595e-08)),
    (2.5, 3.25, (0.16633534842682132, -0.04719940232100094, 0.012937290883055706,
                 -0.0034354713093565498, 0.0008860045777793011, -0.00022238244942359174,
                 5.442039530062779e-05, -1.3005370786199102e-05, 3.0389446205237665e-06,
                 -6.930568465967049e-07, 1.554955252170936e-07, -3.7305023941894867e-08,
                 7.997849693756973e-09, 0.0, 0.0)),
    (4.0, 5.0, (0.11070463773308849, -0.021332789772351573, 0.004040688909180653,
                -0.0007528966629105612, 0.00013810240409076898, -2.4954724413724813e-05,
                4.444450481601972e-06, -7.787218802816592e-07, 1.3500454696391807e-07,
                -2.5029995681854245e-08, 4.211274339281811e-09, 0.0, 0.0, 0.0, 0.0)),
)  # fmt: skip
# float32: erf(x) = x + x E(x^2) for |x| < ERF32_SWITCH (relative residual 2^-32.2) and
# log(erfc(x)) = L(x - ERF32_SWITCH) up to 4 (residual 2^-29.0, weighted by erfc / erf)
ERF32_SWITCH = 0.875
ERF32_E = (0.12837916612625122, -0.37612634897232056, 0.11283732950687408,
           -0.026861583814024925, 0.005206747446209192, -0.0008211103267967701,
           8.675389835843816e-05)  # fmt: skip
ERF32_L = (-1.5328243970870972, -2.4302189350128174, -0.82655268907547, -0.04683907330036163,
           0.011199761182069778, -0.0020370660349726677, 0.00020099735411349684)  # fmt: skip
ERF_ONE = 6.0  # erf(x) rounds to 1 in double from 5.93 on

# The bits of 2/pi after the binary point, 32 to a word, most significant first.
TWO_OVER_PI_WORDS = (
    0xA2F9836E,
    0x4E441529,
    0xFC2757D1,
    0xF534DDC0,
    0xDB629599,
    0x3C439041,
    0xFE5163AB,
    0xDEBBC561,
    0xB7246E3A,
    0x424DD2E0,
    0x06492EEA,
    0x09D1921C,
    0xFE1DEB1C,
    0xB129A73E,
    0xE88235F5,
    0x2EBB4484,
    0xE99C7026,
    0xB45F7E41,
    0x3991D639,
    0x835339F4,
    0x9C845F8B,
    0xBDF9283B,
    0x1FF897FF,
    0xDE05980F,
    0xEF2F118B,
    0x5A0A6D1F,
    0x6D367ECF,
    0x27CB09B7,
    0x4F463F66,
    0x9E5FEA2D,
    0x7527BAC7,
    0xEBE5F17B,
    0x3D0739F7,
    0x8A5292EA,
    0x6BFB5FB1,
    0x1F8D5D08,
    0x56033046,
)

# --- the emitter ------------------------------------------------------------------------


class _Emitter:
    """An IRBuilder speaking the float vocabulary the math functions are written in.

    `ty` is the float type being computed in; `retyped(F64)` gives an emitter on the same
    builder for the double-precision intermediates of float32 functions.
    """

    def __init__(self, builder: ir.IRBuilder, ty: ir.Type):
        self.b = builder
        self.ty = ty
        self.is64 = ty == F64
        self.ity = I64 if self.is64 else I32
        self.mant_bits = 52 if self.is64 else 23
        self.bias = 1023 if self.is64 else 127

    @property
    def module(self) -> ir.Module:
        return self.b.module

    def retyped(self, ty: ir.Type) -> _Emitter:
        return _Emitter(self.b, ty)

    # constants and conversions
    def f(self, value: float) -> ir.Constant:
        return ir.Constant(self.ty, value)

    def i(self, value: int, ty: ir.Type | None = None) -> ir.Constant:
        return ir.Constant(ty or self.ity, value)

    def bits(self, x: ir.Value) -> ir.Value:
        return self.b.bitcast(x, self.ity)

    def from_bits(self, n: ir.Value) -> ir.Value:
        return self.b.bitcast(n, self.ty)

    def to_int(self, x: ir.Value, ty: ir.Type | None = None) -> ir.Value:
        return self.b.fptosi(x, ty or self.ity)

    def to_float(self, n: ir.Value) -> ir.Value:
        return self.b.sitofp(n, self.ty)

    def convert(self, x: ir.Value, ty: ir.Type) -> ir.Value:
        if ty == x.type:
            return x
        return self.b.fpext(x, ty) if ty == F64 else self.b.fptrunc(x, ty)

    # arithmetic
    def add(self, a, b):
        return self.b.fadd(a, b)

    def sub(self, a, b):
        return self.b.fsub(a, b)

    def mul(self, a, b):
        return self.b.fmul(a, b)

    def div(self, a, b):
        return self.b.fdiv(a, b)

    def neg(self, a):
        return self.b.fneg(a)

    def intrinsic(self, name: str, *args: ir.Value) -> ir.Value:
        ty = args[0].type
        suffix = "i32" if ty == I32 else ("f64" if ty == F64 else "f32")
        symbol = f"llvm.{name}.{suffix}"
        fn = self.module.globals.get(symbol)
        if fn is None:
            fn = ir.Function(self.module, ir.FunctionType(ty, [ty] * len(args)), name=symbol)
        return self.b.call(fn, args)

    def fma(self, a, b, c):
        return self.intrinsic("fma", a, b, c)

    def fabs(self, a):
        return self.intrinsic("fabs", a)

    def rint(self, a):
        return self.intrinsic("rint", a)

    def trunc(self, a):
        return self.intrinsic("trunc", a)

    def copysign(self, a, b):
        return self.intrinsic("copysign", a, b)

    def clamp(self, x, lo: float, hi: float):
        """x limited to [lo, hi]; NaN becomes lo (callers restore NaN at the end)."""
        return self.intrinsic("minnum", self.intrinsic("maxnum", x, self.f(lo)), self.f(hi))

    def poly(self, x, coeffs: Sequence[float]):
        """c0 + c1 x + c2 x^2 + ..., by Horner's rule with fma."""
        acc = self.f(coeffs[-1])
        for c in reversed(coeffs[:-1]):
            acc = self.fma(acc, x, self.f(c))
        return acc

    # comparisons and selection
    def cmp(self, op: str, a, b):
        return self.b.fcmp_ordered(op, a, b)

    def is_nan(self, a):
        return self.b.fcmp_unordered("uno", a, a)

    def select(self, cond, a, b):
        return self.b.select(cond, a, b)

    def sign_bit(self, x):
        return self.b.icmp_signed("<", self.bits(x), self.i(0))

    def call(self, name: str, *args: ir.Value) -> ir.Value:
        return self.b.call(math_function(self.module, name, args[0].type), args)

    # error-free transformations (double-double building blocks)
    def two_sum(self, a, b):
        s = self.add(a, b)
        bb = self.sub(s, a)
        return s, self.add(self.sub(a, self.sub(s, bb)), self.sub(b, bb))

    def fast_two_sum(self, a, b):
        """Exact a + b as (sum, error), valid when |a| >= |b| or a == 0."""
        s = self.add(a, b)
        return s, self.sub(b, self.sub(s, a))

    def dd_mul(self, a, b):
        p = self.mul(a[0], b[0])
        err = self.fma(a[0], b[0], self.neg(p))
        err = self.add(err, self.add(self.mul(a[0], b[1]), self.mul(a[1], b[0])))
        return self.fast_two_sum(p, err)

    def dd_add(self, a, b):
        s, err = self.two_sum(a[0], b[0])
        return self.fast_two_sum(s, self.add(err, self.add(a[1], b[1])))

    def dd_const(self, pair: tuple[float, float]):
        return self.f(pair[0]), self.f(pair[1])

    def pow2(self, n):
        """2^n for an integer n of `ity` inside the normal exponent range."""
        biased = self.b.add(n, self.i(self.bias))
        return self.from_bits(self.b.shl(biased, self.i(self.mant_bits)))

    def scale(self, x, n):
        """x 2^n in two steps, so results that overflow or fall subnormal round once."""
        half = self.b.ashr(n, self.i(1))
        return self.mul(self.mul(x, self.pow2(half)), self.pow2(self.b.sub(n, half)))


# --- exp family -------------------------------------------------------------------------

EXP_LIMITS = {F32: (-104.0, 89.0), F64: (-750.0, 712.0)}  # beyond: 0 / inf for sure


def _exp_reduce(e: _Emitter, x):
    """(n, r) with x = n ln2 + r, |r| <= ln2/2; the first fma step is exact."""
    n = e.rint(e.mul(x, e.f(LOG2E)))
    hi, lo = LN2[e.ty]
    r = e.fma(e.neg(n), e.f(hi), x)
    return n, r, e.fma(e.neg(n), e.f(lo), r)


def _exp_fraction(e: _Emitter, r):
    """s with exp(r) = 1 + s, for |r| <= ln2/2 (so |s| < 0.42)."""
    return e.fma(e.mul(r, r), e.poly(r, EXP_P[e.ty]), r)


def _exp_parts(e: _Emitter, x):
    """(n, s) with exp(x) = 2^n (1 + s), n an integer of `ity`, for x already clamped.

    Keeping 1 + s unrounded lets callers fold the 1 into a later sum with one rounding.
    """
    n, _, r = _exp_reduce(e, x)
    return e.to_int(n), _exp_fraction(e, r)


def _exp(e: _Emitter, x, x_lo=None):
    """exp(x + x_lo), with x_lo a small correction (double-double input) or None."""
    lo, hi = EXP_LIMITS[e.ty]
    xc = e.clamp(x, lo, hi)
    n, _, r = _exp_reduce(e, xc)
    if x_lo is not None:
        r = e.add(r, e.select(e.cmp("==", x, xc), x_lo, e.f(0.0)))
    result = e.scale(e.add(e.f(1.0), _exp_fraction(e, r)), e.to_int(n))
    return e.select(e.is_nan(x), x, result)


def _expm1_parts(e: _Emitter, x):
    """(n, hi, lo) with expm1(x) = 2^n (hi + lo), lo below half an ulp of hi (x clamped).

    expm1(x) = 2^n (expm1(r) + (1 - 2^-n)); the sum is formed with an exact two-sum.
    """
    lo, hi = (-40.0, 712.0) if e.is64 else (-20.0, 89.0)
    n, r0, r = _exp_reduce(e, e.clamp(x, lo, hi))
    r_lo = e.fma(e.neg(n), e.f(LN2[e.ty][1]), e.sub(r0, r))
    poly = e.fma(r, e.poly(r, EXPM1_P[e.ty]), e.f(0.5))
    tail = e.fma(e.mul(r, r), poly, e.mul(r_lo, e.add(e.f(1.0), r)))
    ni = e.to_int(n)
    capped = e.b.select(e.b.icmp_signed(">", ni, e.i(60)), e.i(60), ni)
    a = e.sub(e.f(1.0), e.pow2(e.b.neg(capped)))
    s, err = e.fast_two_sum(a, r)
    return (ni, *e.fast_two_sum(s, e.add(err, tail)))


def _expm1(e: _Emitter, x):
    n, hi, _ = _expm1_parts(e, x)
    result = e.scale(hi, n)
    tiny = e.cmp("<", e.fabs(x), e.f(2.0**-60))
    return e.select(e.b.or_(tiny, e.is_nan(x)), x, result)


def _tanh(e: _Emitter, x):
    return (_tanh64 if e.is64 else _tanh32)(e, x)


def _tanh32(e: _Emitter, x):
    # Both pieces in float32 on |x|, blended by a select, the sign copied last (x + x^3 P
    # on x itself would turn -0 into +0, as P(0) < 0):
    # - |x| < TANH_SWITCH: x + x^3 P(x^2); the x^3 P term is under a fifth of the result,
    #   so its rounding errors shrink fivefold and the final fma rounds once.
    # - above: 1 - 2 / (E + 1) with E = exp(2|x|) = 2^n (1 + s); E + 1 = 2^n s + (2^n + 1)
    #   rounds once (2^n + 1 is exact), and 2 / (E + 1) < 0.37 is small next to the result
    #   (> 0.63), so its errors shrink. |x| is capped at 10, where tanh rounds to 1.
    ax = e.fabs(x)
    z = e.mul(ax, ax)
    small = e.fma(e.mul(ax, z), e.poly(z, TANH_P), ax)
    n, s = _exp_parts(e, e.mul(e.f(2.0), e.intrinsic("minnum", ax, e.f(10.0))))
    scale = e.pow2(n)
    den = e.fma(scale, s, e.add(scale, e.f(1.0)))
    large = e.sub(e.f(1.0), e.div(e.f(2.0), den))
    result = e.select(e.cmp(">=", ax, e.f(TANH_SWITCH)), large, small)  # NaN takes `small`
    return e.copysign(result, x)


def _tanh64(e: _Emitter, x):
    # tanh|x| = E / (E + 2) with E = expm1(2|x|) kept as a double-double, the sum and the
    # quotient corrected by their exact errors; it rounds to 1 past the clamp.
    big = 20.0 if e.is64 else 10.0
    n, hi, lo = _expm1_parts(e, e.mul(e.f(2.0), e.intrinsic("minnum", e.fabs(x), e.f(big))))
    scale = e.pow2(n)  # 2^n <= 2^58: exact, and no overflow
    em1, em1_lo = e.mul(hi, scale), e.mul(lo, scale)
    den, den_lo = e.two_sum(em1, e.f(2.0))
    den_lo = e.add(den_lo, em1_lo)
    q = e.div(em1, den)
    residual = e.add(e.fma(e.neg(q), den, em1), em1_lo)  # the fma is exact
    t = e.add(q, e.div(e.sub(residual, e.mul(q, den_lo)), den))
    return e.select(e.is_nan(x), x, e.copysign(t, x))


def _logistic(e: _Emitter, x):
    return (_logistic64 if e.is64 else _logistic32)(e, x)


def _logistic32(e: _Emitter, x):
    # With exp(-|x|) = 2^n m, m = 1 + s: logistic(x) = num / den, den = 1 + 2^n m and
    # num = 1 for x >= 0, m for x < 0 (times 2^n, applied last and in two steps: the
    # result may be subnormal). m and den are kept as exact float-float pairs and the
    # quotient is corrected by its exact residual, so the final rounding dominates the error.
    b = e.b
    n, s = _exp_parts(e, e.intrinsic("maxnum", e.neg(e.fabs(x)), e.f(EXP_LIMITS[F32][0])))
    # Past 2^-60, 2^n m no longer matters next to 1 (and 2^n stays a normal number).
    scale = e.pow2(b.select(b.icmp_signed("<", n, e.i(-60)), e.i(-60), n))
    m, m_lo = e.fast_two_sum(e.f(1.0), s)
    den = e.fma(scale, m, e.f(1.0))
    den_lo = e.fma(scale, m_lo, e.fma(scale, m, e.sub(e.f(1.0), den)))
    negative = e.cmp("<", x, e.f(0.0))
    num = e.select(negative, m, e.f(1.0))
    num_lo = e.select(negative, m_lo, e.f(0.0))
    reciprocal = e.div(e.f(1.0), den)
    q = e.mul(num, reciprocal)
    residual = e.add(e.fma(e.neg(q), den, num), e.fma(e.neg(q), den_lo, num_lo))
    q = e.fma(residual, reciprocal, q)
    result = e.select(negative, e.scale(q, n), q)
    return e.select(e.is_nan(x), x, result)


def _logistic64(e: _Emitter, x):
    # 1 / (1 + exp(-x)) for x >= 0, exp(x) / (1 + exp(x)) below; the sum 1 + exp(-|x|)
    # and the quotient are both corrected with their exact errors.
    ex = e.call("exp", e.neg(e.fabs(x)))
    num = e.select(e.cmp("<", x, e.f(0.0)), ex, e.f(1.0))
    den, den_lo = e.fast_two_sum(e.f(1.0), ex)
    q = e.div(num, den)
    residual = e.fma(e.neg(q), den, num)
    return e.add(q, e.div(e.sub(residual, e.mul(q, den_lo)), den))


# --- log family -------------------------------------------------------------------------


def _split_mantissa(e: _Emitter, x):
    """(k, m) with x = m 2^k, m in [sqrt(1/2), sqrt(2)), for positive normal x."""
    sqrt_half_bits = 0x3FE6A09E667F3BCD if e.is64 else 0x3F3504F3
    one_bits = 0x3FF0000000000000 if e.is64 else 0x3F800000
    u = e.b.add(e.bits(x), e.i(one_bits - sqrt_half_bits))
    k = e.b.sub(e.b.lshr(u, e.i(e.mant_bits)), e.i(e.bias))
    mantissa = e.b.and_(u, e.i((1 << e.mant_bits) - 1))
    return k, e.from_bits(e.b.add(mantissa, e.i(sqrt_half_bits)))


def _normalize_subnormal(e: _Emitter, x):
    """(x', k0) with x = x' 2^k0 and x' normal (for positive x)."""
    shift = e.mant_bits + 2
    small = e.cmp("<", x, e.f(2.0 ** (1 - e.bias)))
    scaled = e.select(small, e.mul(x, e.f(2.0**shift)), x)
    return scaled, e.select(small, e.i(-shift), e.i(0))


def _log_of_parts(e: _Emitter, k, m, correction):
    f = e.sub(m, e.f(1.0))  # exact: m is within a factor 2 of 1
    s = e.div(f, e.add(e.f(2.0), f))
    z = e.mul(s, s)
    big_r = e.mul(z, e.poly(z, LOG_Q[e.ty]))
    hfsq = e.mul(e.f(0.5), e.mul(f, f))
    kf = e.to_float(k)
    low = e.fma(kf, e.f(LN2[e.ty][1]), correction)
    inner = e.sub(f, e.sub(hfsq, e.fma(s, e.add(hfsq, big_r), low)))
    return e.fma(kf, e.f(LN2[e.ty][0]), inner)


def _log_specials(e: _Emitter, x, result, pole: float):
    """NaN below `pole`, -inf at it, +inf at +inf, NaN for NaN."""
    result = e.select(e.cmp("<", x, e.f(pole)), e.f(float("nan")), result)
    result = e.select(e.cmp("==", x, e.f(pole)), e.f(float("-inf")), result)
    result = e.select(e.cmp("==", x, e.f(float("inf"))), x, result)
    return e.select(e.is_nan(x), x, result)


def _log(e: _Emitter, x):
    xs, k0 = _normalize_subnormal(e, x)
    k, m = _split_mantissa(e, xs)
    result = _log_of_parts(e, e.b.add(k, k0), m, e.f(0.0))
    return _log_specials(e, x, result, 0.0)


def _log1p(e: _Emitter, x):
    # log1p(x) = log(u) + (x - (u - 1)) / u with u = 1 + x rounded.
    u = e.add(e.f(1.0), x)
    correction = e.div(e.sub(x, e.sub(u, e.f(1.0))), u)
    k, m = _split_mantissa(e, u)
    result = _log_of_parts(e, k, m, correction)
    result = e.select(e.cmp("==", x, e.f(0.0)), x, result)
    return _log_specials(e, x, result, -1.0)


# --- sin and cos ------------------------------------------------------------------------


def _barrel_select(e: _Emitter, words: Sequence[int], index, count: int, index_bits: int):
    """[words[index + i] for i < count] (zero past the end) with index_bits levels of select."""
    width = count + (1 << index_bits) - 1
    values = [e.i(words[i] if i < len(words) else 0, I32) for i in range(width)]
    for level in reversed(range(index_bits)):
        shift = 1 << level
        bit = e.b.trunc(e.b.lshr(index, e.i(level, I32)), I1)
        keep = count + shift - 1
        values = [e.b.select(bit, values[i + shift], values[i]) for i in range(keep)]
    return values


REDUCTION = {
    # float type: (zero words before 2/pi, window words, limbs of the significand, index bits)
    F32: (2, 3, 1, 3),
    F64: (3, 6, 2, 6),
}


def _reduce_pio2(e: _Emitter, ax):
    """(quadrant, r_hi, r_lo) in double with |x| = quadrant pi/2 + r mod 2 pi, |r| <= pi/4.

    |x| = M 2^q with M an integer; M 2^q 2/pi mod 4 only needs the bits of 2/pi from
    weight 2^-q on, which a barrel shifter of selects picks from the constant words. The
    product with M is formed exactly in 32-bit limbs; the fraction it leaves is r.
    """
    zero_words, window, limbs, index_bits = REDUCTION[e.ty]
    b = e.b
    bits = e.bits(ax)
    biased = b.lshr(bits, e.i(e.mant_bits))
    significand = b.or_(b.and_(bits, e.i((1 << e.mant_bits) - 1)), e.i(1 << e.mant_bits))
    exponent = b.sub(biased, e.i(e.bias + e.mant_bits))
    exponent = b.trunc(exponent, I32) if e.is64 else exponent
    # Clamped to what the table covers: |x| >= 1/2 and finite (other lanes are unused).
    lowest, highest = 32 - 32 * zero_words, e.bias - e.mant_bits
    exponent = b.select(b.icmp_signed("<", exponent, e.i(lowest, I32)), e.i(lowest, I32), exponent)
    exponent = b.select(
        b.icmp_signed(">", exponent, e.i(highest, I32)), e.i(highest, I32), exponent
    )
    start = b.add(exponent, e.i(32 * zero_words - 32, I32))
    table = (0,) * zero_words + TWO_OVER_PI_WORDS
    picked = _barrel_select(e, table, b.lshr(start, e.i(5, I32)), window + 2, index_bits)
    shift = b.and_(start, e.i(31, I32))
    words = [e.intrinsic("fshl", picked[i], picked[i + 1], shift) for i in range(window + 1)]
    # words[0] ends with the two bits of weight 2 and 1; words[1:] is the window.
    sig64 = b.zext(significand, I64) if not e.is64 else significand
    limb_values = [b.and_(sig64, e.i(0xFFFFFFFF, I64))] + (
        [b.lshr(sig64, e.i(32, I64))] if limbs == 2 else []
    )
    columns: list[ir.Value | None] = [None] * (window + limbs + 1)
    for w_index, word in enumerate(words[1:]):
        word64 = b.zext(word, I64)
        for l_index, limb in enumerate(limb_values):
            column = window - 1 - w_index + l_index
            product = b.mul(word64, limb)
            for c, part in ((column, b.and_(product, e.i(0xFFFFFFFF, I64))),
                            (column + 1, b.lshr(product, e.i(32, I64)))):  # fmt: skip
                columns[c] = part if columns[c] is None else b.add(columns[c], part)
    digits = []
    carry = e.i(0, I64)
    for column in columns:
        total = carry if column is None else b.add(column, carry)
        digits.append(b.trunc(total, I32))
        carry = b.lshr(total, e.i(32, I64))
    low_sig = b.trunc(b.and_(sig64, e.i(3, I64)), I32)
    quadrant = b.add(b.mul(b.and_(words[0], e.i(3, I32)), low_sig), digits[window])
    top = digits[window - 1]
    quadrant = b.add(quadrant, b.lshr(top, e.i(31, I32)))  # round to the nearest multiple
    d = e.retyped(F64)
    fraction = [b.sitofp(top, F64)] + [b.uitofp(w, F64) for w in reversed(digits[: window - 1])]
    terms = [d.mul(t, d.f(2.0 ** (-32 * (i + 1)))) for i, t in enumerate(fraction)]
    if not e.is64:
        r = d.mul(d.add(terms[0], terms[1]), d.f(PIO2_HI))
        return quadrant, r, d.f(0.0)
    total, err = terms[0], d.f(0.0)
    for term in terms[1:]:
        total, e_i = d.two_sum(total, term)
        err = d.add(err, e_i)
    f_hi, f_lo = d.fast_two_sum(total, err)
    return (quadrant, *d.dd_mul((f_hi, f_lo), d.dd_const((PIO2_HI, PIO2_LO))))


def _sin_cos_kernels(d: _Emitter, r, r_lo):
    """(sin(r + r_lo), cos(r + r_lo)) in double for |r| <= pi/4."""
    z = d.mul(r, r)
    sin_tail = d.fma(d.mul(r, z), d.poly(z, SIN_S), d.mul(r_lo, d.fma(d.f(-0.5), z, d.f(1.0))))
    sin_r = d.add(r, sin_tail)
    hz = d.mul(d.f(0.5), z)
    w = d.sub(d.f(1.0), hz)
    hz_err = d.fma(d.mul(d.f(0.5), r), r, d.neg(hz))
    correction = d.sub(d.sub(d.sub(d.f(1.0), w), hz), hz_err)
    cos_tail = d.fma(d.mul(z, z), d.poly(z, COS_C), d.neg(d.mul(r, r_lo)))
    cos_r = d.add(w, d.add(correction, cos_tail))
    return sin_r, cos_r


def _sin_or_cos(e: _Emitter, x, quadrant_offset: int):
    d = e.retyped(F64)
    b = e.b
    ax = e.fabs(x)
    quadrant, r, r_lo = _reduce_pio2(e, ax)
    small = e.cmp("<", ax, e.f(0.78))
    quadrant = b.select(small, e.i(0, I32), quadrant)
    r = d.select(small, e.convert(ax, F64), r)
    r_lo = d.select(small, d.f(0.0), r_lo)
    sin_r, cos_r = _sin_cos_kernels(d, r, r_lo)
    quadrant = b.add(quadrant, e.i(quadrant_offset, I32))
    odd = b.trunc(quadrant, I1)
    value = d.select(odd, cos_r, sin_r)
    negative = b.trunc(b.lshr(quadrant, e.i(1, I32)), I1)
    if quadrant_offset == 0:  # sin is odd in x
        negative = b.xor(negative, e.sign_bit(x))
    value = e.convert(d.select(negative, d.neg(value), value), e.ty)
    if quadrant_offset == 0:
        value = e.select(e.cmp("==", x, e.f(0.0)), x, value)
    finite = e.cmp("<", ax, e.f(float("inf")))
    return e.select(finite, value, e.sub(x, x))


def _sin(e: _Emitter, x):
    return _sin_or_cos(e, x, 0)


def _cos(e: _Emitter, x):
    return _sin_or_cos(e, x, 1)


# --- erf --------------------------------------------------------------------------------


def _erf64(d: _Emitter, x):
    ax = d.fabs(x)
    z = d.mul(ax, ax)
    small = d.fma(ax, d.f(ERF_E[0]), d.mul(ax, d.mul(z, d.poly(z, ERF_E[1:]))))
    center = d.f(ERF_G[0][1])
    coeffs = [d.f(c) for c in ERF_G[0][2]]
    for start, mid, poly in ERF_G[1:]:
        above = d.cmp(">=", ax, d.f(start))
        center = d.select(above, d.f(mid), center)
        coeffs = [d.select(above, d.f(c), old) for c, old in zip(poly, coeffs, strict=True)]
    t = d.sub(ax, center)
    g = coeffs[-1]
    for c in reversed(coeffs[:-1]):
        g = d.fma(g, t, c)
    h = d.mul(ax, ax)
    h_lo = d.fma(ax, ax, d.neg(h))
    gauss = d.mul(d.call("exp", d.neg(h)), d.sub(d.f(1.0), h_lo))
    large = d.sub(d.f(1.0), d.mul(gauss, g))
    result = d.select(d.cmp("<", ax, d.f(1.0)), small, large)
    result = d.select(d.cmp(">=", ax, d.f(ERF_ONE)), d.f(1.0), result)
    return d.select(d.is_nan(x), x, d.copysign(result, x))


def _erf32(e: _Emitter, x):
    # Both pieces in float32, blended by a select:
    # - |x| < ERF32_SWITCH: x + x E(x^2); the x E term is at most 0.13 x, so the fma rounds
    #   once and E's errors shrink eightfold.
    # - above: 1 - exp(L(|x| - ERF32_SWITCH)) with L a fit of log(erfc) (centred where its
    #   errors weigh most); exp(L) = 2^n (1 + s) and 1 - 2^n is exact, so the difference
    #   rounds once. |x| is capped at 4, where erf rounds to 1.
    ax = e.fabs(x)
    small = e.fma(x, e.poly(e.mul(x, x), ERF32_E), x)
    t = e.sub(e.intrinsic("minnum", ax, e.f(4.0)), e.f(ERF32_SWITCH))
    n, s = _exp_parts(e, e.poly(t, ERF32_L))
    scale = e.pow2(n)
    large = e.copysign(e.fma(e.neg(scale), s, e.sub(e.f(1.0), scale)), x)
    return e.select(e.cmp(">=", ax, e.f(ERF32_SWITCH)), large, small)  # NaN takes `small`


def _erf(e: _Emitter, x):
    return (_erf64 if e.is64 else _erf32)(e, x)


# --- pow --------------------------------------------------------------------------------


def _log_dd(d: _Emitter, x):
    """log(x) as a double-double (about 100 bits) for positive finite x."""
    xs, k0 = _normalize_subnormal(d, x)
    k, m = _split_mantissa(d, xs)
    f = d.sub(m, d.f(1.0))
    den, den_lo = d.fast_two_sum(d.f(2.0), f)
    s = d.div(f, den)
    s_lo = d.div(d.sub(d.fma(d.neg(s), den, f), d.mul(s, den_lo)), den)
    s_dd = d.fast_two_sum(s, s_lo)
    z_dd = d.dd_mul(s_dd, s_dd)
    # 2 atanh(s) = 2s + s z (2/3 + z (2/5 + z T(z))), T the Taylor tail 2/7 + 2 z / 9 + ...
    tail = d.poly(z_dd[0], [2.0 / (2 * j + 1) for j in range(3, 16)])
    inner = d.dd_add(d.dd_const(TWO_FIFTHS), d.dd_mul(z_dd, (tail, d.f(0.0))))
    inner = d.dd_add(d.dd_const(TWO_THIRDS), d.dd_mul(z_dd, inner))
    log_m = d.dd_add(
        (d.mul(d.f(2.0), s_dd[0]), d.mul(d.f(2.0), s_dd[1])),
        d.dd_mul(d.dd_mul(s_dd, z_dd), inner),
    )
    kf = d.to_float(d.b.add(k, k0))
    k_hi = d.mul(kf, d.f(LN2[F64][0]))
    k_lo = d.fma(kf, d.f(LN2[F64][0]), d.neg(k_hi))
    k_ln2 = d.fast_two_sum(k_hi, d.fma(kf, d.f(LN2[F64][1]), k_lo))
    return d.dd_add(k_ln2, log_m)


def _pow_magnitude64(d: _Emitter, ax, y):
    log_hi, log_lo = _log_dd(d, ax)
    z_hi = d.mul(y, log_hi)  # may overflow; _exp ignores z_lo (then NaN) out of range
    z_lo = d.fma(y, log_lo, d.fma(y, log_hi, d.neg(z_hi)))
    return _exp(d, z_hi, z_lo)


def _pow_magnitude32(e: _Emitter, ax, y):
    d = e.retyped(F64)
    log_x = d.call("log", e.convert(ax, F64))
    return e.convert(d.call("exp", d.mul(e.convert(y, F64), log_x)), e.ty)


def _pow(e: _Emitter, x, y):
    b = e.b
    inf = e.f(float("inf"))
    ax = e.fabs(x)
    y_int = e.cmp("==", e.trunc(y), y)
    y_half = e.mul(y, e.f(0.5))
    y_odd = b.and_(y_int, e.cmp("!=", e.trunc(y_half), y_half))
    regular = b.and_(e.cmp("<", ax, inf), e.cmp(">", ax, e.f(0.0)))
    safe = e.select(regular, ax, e.f(1.0))
    magnitude = (_pow_magnitude64 if e.is64 else _pow_magnitude32)(e, safe, y)
    y_negative = e.cmp("<", y, e.f(0.0))
    zero_or_inf = e.select(y_negative, inf, e.f(0.0))
    magnitude = e.select(e.cmp("==", ax, e.f(0.0)), zero_or_inf, magnitude)
    magnitude = e.select(e.cmp("==", ax, inf), e.select(y_negative, e.f(0.0), inf), magnitude)
    grows = b.icmp_unsigned("==", e.cmp("<", ax, e.f(1.0)), y_negative)
    at_inf = e.select(e.cmp("==", ax, e.f(1.0)), e.f(1.0), e.select(grows, inf, e.f(0.0)))
    magnitude = e.select(e.cmp("==", e.fabs(y), inf), at_inf, magnitude)
    result = e.select(b.and_(e.sign_bit(x), y_odd), e.neg(magnitude), magnitude)
    negative_base = b.and_(e.cmp("<", x, e.f(0.0)), e.cmp("<", ax, inf))
    result = e.select(b.and_(negative_base, b.not_(y_int)), e.f(float("nan")), result)
    result = e.select(b.or_(e.is_nan(x), e.is_nan(y)), e.add(x, y), result)
    one = b.or_(e.cmp("==", y, e.f(0.0)), e.cmp("==", x, e.f(1.0)))
    return e.select(one, e.f(1.0), result)


def _sqrt(e: _Emitter, x):
    return e.intrinsic("sqrt", x)


# --- the registry -----------------------------------------------------------------------

_DEFINITIONS: dict[str, tuple[int, Callable[..., ir.Value]]] = {
    "exp": (1, _exp),
    "expm1": (1, _expm1),
    "log": (1, _log),
    "log1p": (1, _log1p),
    "tanh": (1, _tanh),
    "logistic": (1, _logistic),
    "sin": (1, _sin),
    "cos": (1, _cos),
    "erf": (1, _erf),
    "pow": (2, _pow),
    "sqrt": (1, _sqrt),
}

MATH_FUNCTIONS: dict[str, int] = {name: arity for name, (arity, _) in _DEFINITIONS.items()}
"""The functions `math_function` can define, with their number of arguments."""


def math_function(module: ir.Module, name: str, ty: ir.Type) -> ir.Function:
    """The definition of math function `name` for scalars of float type `ty` in `module`.

    Defined on first request (internal linkage, `alwaysinline`), returned afterwards.

    >>> module = ir.Module()
    >>> math_function(module, "exp", ir.FloatType()).name
    'funcgrad.exp.f32'
    """
    if ty not in (F32, F64):
        raise TypeError(f"math function {name!r}: no definition for type {ty}; use float or double")
    if name not in _DEFINITIONS:
        raise KeyError(f"no math function {name!r}; known: {sorted(_DEFINITIONS)}")
    symbol = _symbol(name, ty)
    if symbol not in module.globals:
        for original, text in _definitions(name, ty == F64):
            if original.name not in module.globals:
                _Prebuilt(module, original, text)
    return module.globals[symbol]


def _symbol(name: str, ty: ir.Type) -> str:
    return f"funcgrad.{name}.{'f64' if ty == F64 else 'f32'}"


class _Prebuilt(ir.Function):
    """A copy of a function built once per process, printed from its text: building the
    bodies with llvmlite's builder costs milliseconds each, more than compiling a small
    kernel at -O0."""

    def __init__(self, module: ir.Module, original: ir.Function, text: str):
        super().__init__(module, original.function_type, name=original.name)
        self.linkage = original.linkage
        for attribute in original.attributes:
            self.attributes.add(attribute)
        self.text = text

    def descr(self, buf: list) -> None:
        buf.append(self.text)


@functools.lru_cache(maxsize=None)
def _definitions(name: str, double: bool) -> tuple[tuple[ir.Function, str], ...]:
    """The definition of `name` and of everything it calls, built in a module of their
    own, each with its text."""
    ty = F64 if double else F32
    scratch = ir.Module()
    arity, define = _DEFINITIONS[name]
    fn = ir.Function(scratch, ir.FunctionType(ty, [ty] * arity), name=_symbol(name, ty))
    fn.linkage = "internal"
    fn.attributes.add("alwaysinline")
    fn.attributes.add("nounwind")
    builder = ir.IRBuilder(fn.append_basic_block("entry"))
    builder.ret(define(_Emitter(builder, ty), *fn.args))
    return tuple((fn, str(fn)) for fn in scratch.globals.values())
