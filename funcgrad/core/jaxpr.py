"""The IR: variables, literals, equations, `Jaxpr` and `ClosedJaxpr`.

A jaxpr is a first-order, straight-line program in SSA form: every variable is
assigned once, by one equation `outvars = primitive[params] invars`. Parameters may
hold sub-jaxprs (calls and control flow). A `ClosedJaxpr` pairs a jaxpr with the
values of its constvars. Here also live the printer (JAX's text format), the type
checker (every equation against its primitive's shape rule) and `eval_jaxpr`, the
reference interpreter: binding each equation's primitive means a jaxpr can be
evaluated under any trace, which is how transforms re-run staged programs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from funcgrad.core.avals import ShapedArray, get_aval
from funcgrad.core.errors import JaxprTypeError
from funcgrad.core.source_info import SourceInfo

__all__ = [
    "Var",
    "Literal",
    "JaxprEqn",
    "Jaxpr",
    "ClosedJaxpr",
    "hoist_consts",
    "pp_jaxpr",
    "sub_jaxprs",
    "has_effects",
    "check_jaxpr",
    "eval_jaxpr",
]


@dataclass(frozen=True, eq=False)
class Var:
    """A variable. Identity is the variable; names are given only when printing."""

    aval: ShapedArray

    def __repr__(self) -> str:
        return f"Var({self.aval.str_short()})"


@dataclass(frozen=True, eq=False)
class Literal:
    """A scalar constant written into an equation."""

    val: Any
    aval: ShapedArray

    def __repr__(self) -> str:
        return f"Literal({_literal_text(self)})"


Atom = Var | Literal


@dataclass(frozen=True, eq=False)
class JaxprEqn:
    primitive: Any
    invars: tuple
    outvars: tuple
    params: dict
    source_info: SourceInfo | None = None


@dataclass(frozen=True, eq=False)
class Jaxpr:
    constvars: tuple
    invars: tuple
    outvars: tuple
    eqns: tuple

    @property
    def in_avals(self) -> list[ShapedArray]:
        return [v.aval for v in self.invars]

    @property
    def out_avals(self) -> list[ShapedArray]:
        return [v.aval for v in self.outvars]

    def __str__(self) -> str:
        return pp_jaxpr(self)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return _notebook_view(self)


@dataclass(frozen=True, eq=False)
class ClosedJaxpr:
    jaxpr: Jaxpr
    consts: tuple

    @property
    def in_avals(self) -> list[ShapedArray]:
        return self.jaxpr.in_avals

    @property
    def out_avals(self) -> list[ShapedArray]:
        return self.jaxpr.out_avals

    @property
    def eqns(self) -> tuple:
        return self.jaxpr.eqns

    def __str__(self) -> str:
        return pp_jaxpr(self.jaxpr)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return _notebook_view(self)


def _notebook_view(program) -> str:
    """Jupyter's view of a jaxpr: its graph above its text (funcgrad.viz, imported only
    when a notebook asks)."""
    from funcgrad.viz import html

    return html(program)


def sub_jaxprs(params: dict):
    """The jaxprs an equation's parameters hold (a call's body, later loop bodies)."""
    for value in params.values():
        for item in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(item, ClosedJaxpr):
                yield item.jaxpr
            elif isinstance(item, Jaxpr):
                yield item


def has_effects(eqn: JaxprEqn) -> bool:
    """Whether running `eqn` does something besides computing its outputs (a print,
    possibly inside a called body), so passes must keep it even when nothing reads it."""
    if eqn.primitive.has_side_effects:
        return True
    return any(has_effects(inner) for sub in sub_jaxprs(eqn.params) for inner in sub.eqns)


def hoist_consts(closed: ClosedJaxpr) -> tuple[ClosedJaxpr, tuple]:
    """The same program taking its constants as leading inputs, and those constants.

    A call primitive passes constants as operands, so that a constant which is a tracer
    of an enclosing transform is seen (and transformed) by that transform.
    """
    jaxpr = closed.jaxpr
    hoisted = Jaxpr((), jaxpr.constvars + jaxpr.invars, jaxpr.outvars, jaxpr.eqns)
    return ClosedJaxpr(hoisted, ()), closed.consts


# ---------------------------------------------------------------------------------------
# Printing, in JAX's format:  { lambda ; a:f32[3]. let b:f32[3] = sin a in (b,) }

_LINE_WIDTH = 80


class _Names:
    """Hands out a, b, ..., z, ba, bb, ... in order of first appearance."""

    def __init__(self):
        self.names: dict[Var, str] = {}

    def __call__(self, var: Var) -> str:
        name = self.names.get(var)
        if name is None:
            name = self.names[var] = _nth_name(len(self.names))
        return name


def _nth_name(n: int) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        text = letters[n % 26] + text
        n //= 26
        if n == 0:
            return text


def _literal_text(lit: Literal) -> str:
    value = np.asarray(lit.val)[()]
    kind = lit.aval.dtype.kind
    if kind == "b":
        text = str(bool(value))
    elif kind in "iu":
        text = str(int(value))
    elif kind == "c":
        text = str(complex(value))
    else:  # floating, bfloat16 included (NumPy calls it kind 'V')
        wide = np.float64 if lit.aval.dtype.itemsize > 4 else np.float32
        text = str(wide(value))
    return f"{text}:{lit.aval.str_short()}"


def _atom_text(atom, names: _Names) -> str:
    return _literal_text(atom) if isinstance(atom, Literal) else names(atom)


def _binder_text(var: Var, names: _Names) -> str:
    return f"{names(var)}:{var.aval.str_short()}"


def _is_jaxpr(value) -> bool:
    return isinstance(value, (Jaxpr, ClosedJaxpr))


def _param_text(value, names: _Names, indent: int) -> str:
    if isinstance(value, ClosedJaxpr):
        value = value.jaxpr
    if isinstance(value, Jaxpr):
        return _pp(value, names, indent)
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, (tuple, list)) and any(_is_jaxpr(v) for v in value):
        # One body per line (cond's branches), indented under the parameter's name.
        pad = " " * (indent + 2)
        inner = "".join(f"\n{pad}{_param_text(v, names, indent + 2)}," for v in value)
        return f"({inner}\n{' ' * indent})"
    return repr(value)


def _eqn_text(eqn: JaxprEqn, names: _Names, indent: int) -> str:
    ins = " ".join(_atom_text(v, names) for v in eqn.invars)
    outs = " ".join(_binder_text(v, names) for v in eqn.outvars)
    params = ""
    if eqn.params:
        has_sub = any(
            _is_jaxpr(v) or isinstance(v, (tuple, list)) and any(map(_is_jaxpr, v))
            for v in eqn.params.values()
        )
        if has_sub:
            pad = " " * (indent + 2)
            items = "".join(
                f"\n{pad}{k}={_param_text(v, names, indent + 2)}"
                for k, v in sorted(eqn.params.items())
            )
            params = f"[{items}\n{' ' * indent}]"
        else:
            params = (
                "["
                + " ".join(f"{k}={_param_text(v, names, 0)}" for k, v in sorted(eqn.params.items()))
                + "]"
            )
    call = f"{eqn.primitive.name}{params}{' ' if ins else ''}{ins}"
    return f"{outs} = {call}" if outs else call


def _pp(jaxpr: Jaxpr, names: _Names, indent: int, notes: dict | None = None) -> str:
    consts = " ".join(_binder_text(v, names) for v in jaxpr.constvars)
    ins = " ".join(_binder_text(v, names) for v in jaxpr.invars)
    head = f"{{ lambda {consts}; {ins}. let"
    eqns = [_eqn_text(e, names, indent + 4) for e in jaxpr.eqns]
    outs = ", ".join(_atom_text(v, names) for v in jaxpr.outvars)
    tail = f"in ({outs}{',' if len(jaxpr.outvars) == 1 else ''}) }}"
    one_line = " ".join([head, *eqns, tail]) if eqns else f"{head}  {tail}"
    if (
        not notes
        and "\n" not in one_line
        and len(eqns) <= 1
        and indent + len(one_line) <= _LINE_WIDTH
    ):
        return one_line
    pad = " " * (indent + 4)
    body = "".join(
        (f"\n{pad}# {notes[i]}" if notes and i in notes else "") + f"\n{pad}{e}"
        for i, e in enumerate(eqns)
    )
    return f"{head}{body}\n{' ' * (indent + 2)}{tail}"


def pp_jaxpr(jaxpr: Jaxpr, notes: dict[int, str] | None = None) -> str:
    """The jaxpr as text, in JAX's format; `notes[i]` is printed as a comment line
    above equation i (the compiler marks its fusion groups this way)."""
    return _pp(jaxpr, _Names(), 0, notes)


# ---------------------------------------------------------------------------------------
# Type checking


def _types_match(expected: ShapedArray, actual: ShapedArray) -> bool:
    # Weak types are a promotion hint, not a type: JAX's checker ignores them too.
    return expected.shape == actual.shape and expected.dtype == actual.dtype


def check_jaxpr(jaxpr: Jaxpr | ClosedJaxpr) -> None:
    """Raise `JaxprTypeError` unless every equation follows its primitive's shape rule.

    Checks SSA form (each variable bound once, used only after it is bound), operand
    and result types against `abstract_eval`, and every sub-jaxpr in parameters.
    Variables are named in errors as `pp_jaxpr` names them.
    """
    if isinstance(jaxpr, ClosedJaxpr):
        _check_consts(jaxpr)
        jaxpr = jaxpr.jaxpr
    names = _Names()
    for var in (*jaxpr.constvars, *jaxpr.invars, *(v for e in jaxpr.eqns for v in e.outvars)):
        if isinstance(var, Var):
            names(var)
    try:
        _check_body(jaxpr, names)
    except JaxprTypeError as err:
        raise JaxprTypeError(f"{err}\nin the jaxpr:\n{pp_jaxpr(jaxpr)}") from None


def _check_consts(closed: ClosedJaxpr) -> None:
    constvars = closed.jaxpr.constvars
    if len(closed.consts) != len(constvars):
        raise JaxprTypeError(
            f"ClosedJaxpr has {len(closed.consts)} consts for {len(constvars)} constvars"
        )
    for var, const in zip(constvars, closed.consts):
        if not _types_match(var.aval, get_aval(const)):
            raise JaxprTypeError(
                f"const of type {get_aval(const).str_short()} bound to constvar of type "
                f"{var.aval.str_short()}"
            )


def _check_body(jaxpr: Jaxpr, names: _Names) -> None:
    defined: set[Var] = set()

    def bind_var(var, where):
        if not isinstance(var, Var):
            raise JaxprTypeError(f"{where}: expected a Var binder, got {var!r}")
        if var in defined:
            raise JaxprTypeError(f"{where}: variable {names(var)} is bound more than once")
        defined.add(var)

    def read(atom, where):
        if isinstance(atom, Literal):
            if not _types_match(atom.aval, get_aval(atom.val)):
                raise JaxprTypeError(
                    f"{where}: literal {_literal_text(atom)} has a value of another type"
                )
            return atom.aval
        if not isinstance(atom, Var):
            raise JaxprTypeError(f"{where}: expected a Var or Literal, got {atom!r}")
        if atom not in defined:
            raise JaxprTypeError(f"{where}: variable {names(atom)} is used before it is bound")
        return atom.aval

    for var in jaxpr.constvars:
        bind_var(var, "constvars")
    for var in jaxpr.invars:
        bind_var(var, "invars")
    for index, eqn in enumerate(jaxpr.eqns):
        where = f"equation {index} ({eqn.primitive.name})"
        in_avals = [read(atom, where) for atom in eqn.invars]
        for key, value in eqn.params.items():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                if _is_jaxpr(sub):
                    try:
                        check_jaxpr(sub)
                    except JaxprTypeError as err:
                        raise JaxprTypeError(f"{where}, in parameter {key}: {err}") from None
        try:
            out = eqn.primitive.abstract_eval(*in_avals, **eqn.params)
        except (TypeError, ValueError) as err:
            raise JaxprTypeError(f"{where}: the primitive's shape rule rejects it: {err}") from None
        out_avals = list(out) if eqn.primitive.multiple_results else [out]
        if len(out_avals) != len(eqn.outvars):
            raise JaxprTypeError(
                f"{where}: the primitive gives {len(out_avals)} results but the equation binds "
                f"{len(eqn.outvars)}"
            )
        for expected, var in zip(out_avals, eqn.outvars):
            if isinstance(var, Var) and not _types_match(expected, var.aval):
                raise JaxprTypeError(
                    f"{where}: binds {names(var)}:{var.aval.str_short()} but the primitive "
                    f"gives {expected.str_short()} for operands "
                    f"{', '.join(a.str_short() for a in in_avals)}"
                )
            bind_var(var, where)
    for atom in jaxpr.outvars:
        read(atom, "outvars")


# ---------------------------------------------------------------------------------------
# Evaluation


def eval_jaxpr(jaxpr: Jaxpr, consts: Sequence, *args) -> list:
    """Run a jaxpr by binding each equation's primitive under the current trace."""
    if len(args) != len(jaxpr.invars):
        raise TypeError(
            f"eval_jaxpr: the jaxpr takes {len(jaxpr.invars)} arguments, got {len(args)}"
        )
    env: dict[Var, Any] = {}

    def read(atom):
        return atom.val if isinstance(atom, Literal) else env[atom]

    env.update(zip(jaxpr.constvars, consts))
    env.update(zip(jaxpr.invars, args))
    for eqn in jaxpr.eqns:
        out = eqn.primitive.bind(*map(read, eqn.invars), **eqn.params)
        env.update(zip(eqn.outvars, out if eqn.primitive.multiple_results else (out,)))
    return [read(atom) for atom in jaxpr.outvars]
