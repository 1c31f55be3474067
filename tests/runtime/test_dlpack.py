"""DLPack in and out: jnp.from_dlpack copies any host exporter's data into an immutable
funcgrad array; funcgrad arrays export their host buffer read-only (a copy for consumers of
the protocol before 1.0)."""

import os

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp

THIS_FILE = os.path.basename(__file__)


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.uint8, np.bool_, np.complex64])
def test_from_dlpack_copies_a_numpy_array(dtype):
    source = (np.arange(12) % 5).reshape(3, 4).astype(dtype)
    x = jnp.from_dlpack(source)
    assert x.dtype == source.dtype and x.shape == (3, 4)
    expected = source.copy()
    source[...] = 0  # the producer's later writes do not reach the immutable array
    np.testing.assert_array_equal(np.asarray(x), expected)


def test_from_dlpack_narrows_64_bit_data_like_asarray():
    x = jnp.from_dlpack(np.linspace(0.0, 1.0, 5))
    assert x.dtype == jnp.asarray(np.linspace(0.0, 1.0, 5)).dtype
    np.testing.assert_allclose(np.asarray(x), np.linspace(0.0, 1.0, 5), rtol=1e-7)


def test_from_dlpack_of_a_strided_view():
    source = np.arange(24.0, dtype=np.float32).reshape(4, 6)[:, ::2].T
    np.testing.assert_array_equal(np.asarray(jnp.from_dlpack(source)), source)


def test_numpy_reads_an_array_through_dlpack_read_only():
    x = jnp.arange(6.0).reshape(2, 3) * 2.0
    view = np.from_dlpack(x)
    np.testing.assert_array_equal(view, np.arange(6.0).reshape(2, 3) * 2.0)
    assert not view.flags.writeable
    assert x.__dlpack_device__() == (1, 0)  # kDLCPU, device 0


class _OldConsumer:
    """Asks for a capsule as consumers of the protocol before 1.0 do (no max_version)."""

    def __init__(self, array):
        self.array = array

    def __dlpack__(self, **_):
        return self.array.__dlpack__()

    def __dlpack_device__(self):
        return self.array.__dlpack_device__()


def test_a_consumer_of_the_old_protocol_gets_a_copy():
    x = jnp.arange(4.0) * 3.0
    # No read-only flag to carry: the capsule holds a copy, never the array's own buffer.
    received = np.from_dlpack(_OldConsumer(x))
    np.testing.assert_array_equal(received, [0.0, 3.0, 6.0, 9.0])
    assert not np.shares_memory(received, np.asarray(x))


def test_torch_round_trip():
    torch = pytest.importorskip("torch")
    tensor = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    x = jnp.from_dlpack(tensor)
    np.testing.assert_array_equal(np.asarray(x), np.arange(6, dtype=np.float32).reshape(2, 3))
    back = torch.from_dlpack(x * 3.0)
    np.testing.assert_array_equal(back.numpy(), np.arange(6).reshape(2, 3) * 3.0)


def test_from_dlpack_errors_name_the_callers_line():
    with pytest.raises(TypeError, match=rf"list has no __dlpack__.*{THIS_FILE}"):
        jnp.from_dlpack([1.0, 2.0])
    with pytest.raises(ValueError, match=rf"copy=False.*{THIS_FILE}.*Leave copy unset"):
        jnp.from_dlpack(np.ones(2), copy=False)
    with pytest.raises(TypeError, match=rf"device='gpu' is not a Device.*{THIS_FILE}"):
        jnp.from_dlpack(np.ones(2), device="gpu")
    with pytest.raises(ValueError, match=rf"cannot read a _Unreadable.*{THIS_FILE}.*host memory"):
        jnp.from_dlpack(_Unreadable())


class _Unreadable:
    """A host exporter whose buffer cannot be handed out (as a NumPy array with a
    byte-order DLPack has no code for)."""

    def __dlpack_device__(self):
        return (1, 0)

    def __dlpack__(self, **kwargs):
        raise BufferError("this buffer cannot be exported")


def test_a_donated_array_cannot_be_exported():
    double = fg.jit(lambda v: v * 2.0, donate_argnums=0)
    x = jnp.ones(3)
    double(x)
    with pytest.raises(RuntimeError, match="donated"):
        np.from_dlpack(x)


def test_from_dlpack_of_a_traced_value_says_to_call_it_outside_jit():
    with pytest.raises(fg.errors.TracerArrayConversionError, match=rf"{THIS_FILE}.*outside jit"):
        fg.jit(jnp.from_dlpack)(np.ones(2, np.float32))
