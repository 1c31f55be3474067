"""Compile a closed jaxpr into one generated Python function over NumPy buffers.

Each equation becomes one line calling its primitive's NumPy impl with its parameters
bound as constants, so a call does no interpretation of the IR: no environment lookups,
no rule dispatch, no shape checks (they all happened when the jaxpr was traced).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from funcgrad.core.jaxpr import ClosedJaxpr, Literal, Var

__all__ = ["compile_jaxpr"]


def compile_jaxpr(closed: ClosedJaxpr, name: str = "program") -> Callable:
    """A function `(*input buffers) -> list of output buffers` running `closed`."""
    jaxpr = closed.jaxpr
    names: dict[Var, str] = {}
    namespace: dict[str, object] = {}

    def var_name(var: Var) -> str:
        if var not in names:
            names[var] = f"v{len(names)}"
        return names[var]

    def operand(atom) -> str:
        if isinstance(atom, Literal):
            key = f"lit{len(namespace)}"
            namespace[key] = np.asarray(atom.val, dtype=atom.aval.dtype)
            return key
        return var_name(atom)

    for index, const in enumerate(closed.consts):
        namespace[f"const{index}"] = np.asarray(const)
    lines = [f"def {name}({', '.join(var_name(v) for v in jaxpr.invars)}):"]
    for index, var in enumerate(jaxpr.constvars):
        lines.append(f"    {var_name(var)} = const{index}")
    for index, eqn in enumerate(jaxpr.eqns):
        impl_key = f"impl{index}"
        params_key = f"params{index}"
        namespace[impl_key] = eqn.primitive.impl
        namespace[params_key] = eqn.params
        args = ", ".join(operand(a) for a in eqn.invars)
        call = f"{impl_key}({args}{', ' if args else ''}**{params_key})"
        if eqn.primitive.multiple_results:
            outs = ", ".join(var_name(v) for v in eqn.outvars)
            lines.append(f"    {outs}{',' if len(eqn.outvars) == 1 else ''} = {call}")
        else:
            lines.append(f"    {var_name(eqn.outvars[0])} = {call}")
    lines.append(f"    return [{', '.join(operand(v) for v in jaxpr.outvars)}]")
    source = "\n".join(lines)
    exec(compile(source, f"<funcgrad {name}>", "exec"), namespace)  # noqa: S102
    program = namespace[name]
    program.source = source
    return program
