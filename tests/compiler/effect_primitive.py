"""A side-effecting primitive for the compiler-pass tests: it returns its operand and
records each run in `runs`, so a test can see whether a pass dropped, merged or folded it."""

from funcgrad.core.primitive import Primitive

runs: list = []
effect_p = Primitive("test_effect", has_side_effects=True)
effect_p.def_impl(lambda x: runs.append(1) or x)
effect_p.def_abstract_eval(lambda aval: aval)
