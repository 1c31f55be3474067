"""The README stays true: its quick-start commands are the ones CI runs, and its API
coverage table lists exactly the public names each namespace has."""

import pathlib
import re

import pytest

import funcgrad
import funcgrad.numpy as jnp
import funcgrad.scipy.special
from funcgrad import lax

ROOT = pathlib.Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def test_ci_runs_the_readme_test_command():
    assert "bash dev.sh test" in README
    assert "bash dev.sh test" in (ROOT / ".ci" / "run").read_text()


def _coverage_rows(namespace: str) -> set[str]:
    """The names in every coverage row whose first cell is `namespace` (any family label)."""
    rows = re.findall(rf"^\| `{re.escape(namespace)}`[^|]* \| (.+) \|$", README, re.MULTILINE)
    assert rows, f"README has no coverage row for {namespace}"
    return {name for row in rows for name in re.findall(r"`([^`]+)`", row)}


@pytest.mark.parametrize(
    "namespace, module",
    [
        ("funcgrad.numpy", jnp),
        ("funcgrad.numpy.linalg", jnp.linalg),
        ("funcgrad.lax", lax),
        ("funcgrad.scipy.special", funcgrad.scipy.special),
        ("funcgrad.nn", funcgrad.nn),
        ("funcgrad.random", funcgrad.random),
        ("funcgrad.nn.initializers", funcgrad.nn.initializers),
        ("funcgrad.optim", funcgrad.optim),
        ("funcgrad.io", funcgrad.io),
        ("funcgrad.data", funcgrad.data),
        ("funcgrad.metrics", funcgrad.metrics),
        ("funcgrad.viz", funcgrad.viz),
    ],
)
def test_coverage_rows_list_exactly_the_public_names(namespace, module):
    listed = _coverage_rows(namespace)
    public = {name for name in module.__all__}
    assert listed == public, (
        f"missing from README: {sorted(public - listed)}; not in {namespace}: "
        f"{sorted(listed - public)}"
    )


def test_readme_counts_the_numpy_names():
    match = re.search(r"(\d+) public names", README)
    assert match and int(match.group(1)) == len(jnp.__all__)
    assert funcgrad.numpy is jnp
