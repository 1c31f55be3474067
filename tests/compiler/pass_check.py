"""Run a compiler pass on make_jaxpr(fun)(*args) and check what every pass must keep: its
input untouched, a well-typed result with the same output avals, and the same values."""

import numpy as np

import funcgrad as fg
from funcgrad.core.jaxpr import check_jaxpr, eval_jaxpr, pp_jaxpr


def run_checked(run_pass, fun, *args, exact: bool = True):
    """(the traced program, the pass's result), after checking the result."""
    closed = fg.make_jaxpr(fun)(*args)
    before = pp_jaxpr(closed.jaxpr)
    result = run_pass(closed)
    assert pp_jaxpr(closed.jaxpr) == before
    check_jaxpr(result)
    assert [v.aval for v in result.jaxpr.outvars] == [v.aval for v in closed.jaxpr.outvars]
    expected = eval_jaxpr(closed.jaxpr, closed.consts, *args)
    got = eval_jaxpr(result.jaxpr, result.consts, *args)
    for g, e in zip(got, expected):
        assert g.dtype == e.dtype and np.shape(g) == np.shape(e)
        if exact:
            np.testing.assert_array_equal(np.asarray(g), np.asarray(e))
        else:
            np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-6)
    return closed, result
