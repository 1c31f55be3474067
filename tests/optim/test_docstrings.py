"""The examples in funcgrad.optim's docstrings run and print what they claim."""

import doctest

import pytest

import funcgrad.numpy as jnp
from funcgrad.optim import base, optimizers, schedules, transforms


@pytest.mark.parametrize(
    "module", [base, transforms, optimizers, schedules], ids=lambda m: m.__name__
)
def test_docstring_examples(module):
    result = doctest.testmod(
        module, extraglobs={"jnp": jnp}, optionflags=doctest.NORMALIZE_WHITESPACE, report=True
    )
    assert result.attempted > 0
    assert result.failed == 0
