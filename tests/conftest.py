import pytest

from funcgrad import config


@pytest.fixture
def x64():
    """Run a test with jax_enable_x64 on, restoring the previous setting afterwards."""
    previous = config.jax_enable_x64
    config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        config.update("jax_enable_x64", previous)
