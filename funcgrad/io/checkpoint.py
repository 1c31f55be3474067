"""Checkpoints: pytrees of arrays saved to and loaded from safetensors files.

Names. Each leaf is stored under its pytree key path with the parts joined by dots: dict
keys and attribute names as written, sequence positions as decimal numbers. So
``{"layers": [{"kernel": w, "bias": b}]}`` stores ``layers.0.bias`` and ``layers.0.kernel``,
the same scheme PyTorch state dicts use, and a namedtuple field ``opt.mu`` stores ``opt.mu``.
None is an empty subtree and stores nothing. Two leaves whose names collide (a dict key
that itself contains a dot can cause this) are refused when saving.

Integrity. `save` adds the SHA-256 of the data section to the header's metadata under
``funcgrad.sha256``; `load` recomputes and compares it, so a flipped bit anywhere in the
tensors is reported rather than trained on. Files from other writers have no checksum and
load after the structural checks alone (see funcgrad/io/safetensors.py for those).

Atomicity. `save` writes a temporary file next to the target, flushes and fsyncs it,
renames it over the target (atomic on POSIX and Windows) and fsyncs the directory, so at
every instant the path holds either the previous checkpoint or the new one, complete.

Loading returns funcgrad Arrays (dtypes canonicalized as `jnp.asarray` would, so float64
data loads as float32 unless x64 is on): values that go straight into jitted functions.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
from collections.abc import Mapping
from typing import Any

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.errors import CheckpointError
from funcgrad.io import safetensors
from funcgrad.runtime.array import Array, from_buffer
from funcgrad.tree_util import keystr, tree_flatten_with_path, tree_unflatten

__all__ = ["CHECKSUM_KEY", "load", "metadata", "save"]

CHECKSUM_KEY = "funcgrad.sha256"

_PYTHON_SCALARS = (bool, int, float, complex)
# A mismatch report lists at most this many names per kind of problem.
_MAX_LISTED = 100


@api_boundary
def save(path: str | os.PathLike, tree: Any, metadata: Mapping[str, str] | None = None) -> None:
    """Save a pytree of arrays to `path` as a safetensors file, atomically.

    Leaves may be funcgrad Arrays, NumPy arrays or Python scalars (stored as 0-d arrays of
    the dtype `jnp.asarray` gives them). `metadata` is an optional str -> str map stored in
    the header; read it back with `funcgrad.io.metadata`.

    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "params.safetensors")
    >>> save(path, {"w": np.ones((2, 3), np.float32), "b": np.zeros(3, np.float32)})
    >>> sorted(load(path))
    ['b', 'w']
    """
    where = f"save({os.fspath(path)!r}) at {user_location()}"
    named = [(name, _leaf_array(leaf, name, where)) for name, leaf in _named_leaves(tree, where)]
    user_metadata = _check_metadata(metadata, where)
    chunks = [safetensors.tensor_bytes(array) for _, array in named]
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    header = safetensors.encode_header(named, {**user_metadata, CHECKSUM_KEY: digest.hexdigest()})
    _write_atomically(os.fspath(path), [header, *chunks])


@api_boundary
def load(path: str | os.PathLike, like: Any = None) -> Any:
    """Load a checkpoint written by `save` (or by any safetensors writer).

    With `like` (a pytree of arrays, ShapeDtypeStructs or scalars), returns a tree of that
    exact structure, after checking that the file holds exactly its names with the same
    shapes and dtypes; every mismatch is listed in one CheckpointError. Without `like`,
    returns a nested dict built by splitting the stored names at dots. Leaves are funcgrad
    Arrays.

    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "params.safetensors")
    >>> save(path, {"layers": [{"w": np.ones(2, np.float32)}]})
    >>> load(path)
    {'layers': {'0': {'w': Array([1., 1.], dtype=float32)}}}
    >>> load(path, like={"layers": [{"w": np.zeros(2, np.float32)}]})
    {'layers': [{'w': Array([1., 1.], dtype=float32)}]}
    """
    where = f"load({os.fspath(path)!r}) at {user_location()}"
    header, data = _read_verified(os.fspath(path), where)
    if like is None:
        arrays = {name: _to_array(data, entry) for name, entry in header.tensors.items()}
        return _nested_dict(arrays, where)
    pairs, treedef = tree_flatten_with_path(like)
    expected = dict(_named_leaves_of_pairs(pairs, where))
    problems = _mismatches(expected, header.tensors)
    if problems:
        raise CheckpointError(
            f"{where}: the checkpoint does not match the `like` tree:\n"
            + "\n".join(problems)
            + "\nPass a `like` tree built the way the saved one was, or call load(path) "
            "without like= to see the names, shapes and dtypes the file holds."
        )
    return tree_unflatten(treedef, [_to_array(data, header.tensors[name]) for name in expected])


@api_boundary
def metadata(path: str | os.PathLike) -> dict[str, str]:
    """The str -> str metadata saved with a checkpoint (funcgrad's checksum entry left out).

    Reads and validates only the header, so it is cheap even for a large file.

    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "params.safetensors")
    >>> save(path, {"w": np.ones(2, np.float32)}, metadata={"step": "100"})
    >>> metadata(path)
    {'step': '100'}
    """
    where = f"metadata({os.fspath(path)!r}) at {user_location()}"
    with open(path, "rb") as file:
        header = safetensors.read_header(file, os.fstat(file.fileno()).st_size, where)
    return {key: value for key, value in header.metadata.items() if key != CHECKSUM_KEY}


def _named_leaves(tree: Any, where: str) -> list[tuple[str, Any]]:
    return _named_leaves_of_pairs(tree_flatten_with_path(tree)[0], where)


def _named_leaves_of_pairs(pairs: list, where: str) -> list[tuple[str, Any]]:
    named = [(keystr(path, simple=True, separator="."), leaf) for path, leaf in pairs]
    if any(not path for path, _ in pairs):
        raise ValueError(
            f"{where}: the tree is a single array, which has no name to store it under. "
            "Wrap it in a dict, e.g. {'params': x}."
        )
    seen: dict[str, int] = {}
    for name, _ in named:
        seen[name] = seen.get(name, 0) + 1
    duplicates = sorted(name for name, count in seen.items() if count > 1)
    if duplicates:
        raise ValueError(
            f"{where}: several leaves share the same checkpoint name: "
            f"{', '.join(map(repr, duplicates))} (names join key paths with dots, so a dict "
            "key containing a dot can collide with a nested key). Rename the keys."
        )
    if safetensors.METADATA_KEY in seen:
        raise ValueError(
            f"{where}: the name {safetensors.METADATA_KEY!r} is reserved by the safetensors "
            "format for metadata. Rename that key."
        )
    return named


def _leaf_array(leaf: Any, name: str, where: str) -> np.ndarray:
    if type(leaf) in _PYTHON_SCALARS:
        return np.asarray(leaf, dtype=dtypes.scalar_dtype(leaf))
    array = np.asarray(leaf)
    if safetensors.dtype_code(array.dtype) is None:
        described = (
            f"an array of dtype {array.dtype}"
            if isinstance(leaf, (np.ndarray, np.generic, Array))
            else f"a {type(leaf).__name__}"
        )
        raise TypeError(
            f"{where}: leaf {name!r} is {described}, which safetensors cannot store; it stores "
            f"arrays of {', '.join(d.name for d in safetensors.DTYPE_CODES.values())}. Convert "
            "the leaf (complex128 -> complex64, for example) or keep it out of the tree."
        )
    return array


def _check_metadata(metadata: Mapping[str, str] | None, where: str) -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in metadata.items()
    ):
        raise TypeError(
            f"{where}: metadata must map str to str (safetensors stores only strings), got "
            f"{metadata!r}. Convert the values, e.g. {{'step': str(step)}}."
        )
    if CHECKSUM_KEY in metadata:
        raise ValueError(
            f"{where}: the metadata key {CHECKSUM_KEY!r} is reserved for funcgrad's checksum "
            "of the data. Use another key."
        )
    return dict(metadata)


def _write_atomically(path: str, pieces: list) -> None:
    """Write `pieces` to `path` so that a crash at any point leaves the old file intact."""
    # The real target, so that saving through a symlink replaces the file, not the link.
    target = os.path.realpath(path)
    directory, basename = os.path.split(target)
    temporary = os.path.join(directory, f".{basename}.{secrets.token_hex(8)}.tmp")
    # os.open with mode 0o666 lets the umask decide permissions, as a plain open() would.
    descriptor = os.open(
        temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
    )
    try:
        with os.fdopen(descriptor, "wb") as file:
            for piece in pieces:
                file.write(piece)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable: until the directory entry is on disk, a power loss
    can bring back the old file (or none)."""
    if os.name == "nt":  # Windows cannot open a directory; its rename is journaled instead.
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    except OSError as err:
        # Some file systems (network mounts, FUSE) cannot sync a directory at all.
        if err.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(descriptor)


def _read_verified(path: str, where: str) -> tuple[safetensors.Header, bytes]:
    with open(path, "rb") as file:
        header = safetensors.read_header(file, os.fstat(file.fileno()).st_size, where)
        data = file.read()
    if len(data) != header.data_size:
        raise CheckpointError(
            f"{where}: the file changed while it was being read ({len(data)} data bytes "
            f"instead of {header.data_size}). Load it again once the writer has finished."
        )
    stored = header.metadata.get(CHECKSUM_KEY)
    if stored is not None:
        actual = hashlib.sha256(data).hexdigest()
        if actual != stored:
            raise CheckpointError(
                f"{where}: the data section's SHA-256 is {actual}, but the header records "
                f"{stored}: the tensor bytes were corrupted after the file was written (disk "
                "or transfer error). Restore the checkpoint from a good copy."
            )
    return header, data


def _to_array(data: bytes, entry: safetensors.TensorEntry) -> Array:
    # read_tensor returns a fresh array, so it can become the Array's buffer without a copy.
    aval = ShapedArray(entry.shape, dtypes.canonicalize_dtype(entry.dtype))
    return from_buffer(safetensors.read_tensor(data, entry), aval)


def _nested_dict(arrays: dict[str, Array], where: str) -> dict:
    root: dict = {}
    for name in sorted(arrays):
        *parents, last = name.split(".")
        node = root
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        if not isinstance(node, dict) or last in node:
            raise CheckpointError(
                f"{where}: tensor {name!r} cannot be placed in a nested dict, because "
                "another stored name is a prefix of it (or it is a prefix of another). Pass "
                "like= with the tree the checkpoint was saved from."
            )
        node[last] = arrays[name]
    return root


def _like_shape_dtype(leaf: Any) -> tuple[tuple[int, ...], np.dtype]:
    if type(leaf) in _PYTHON_SCALARS:
        return (), dtypes.scalar_dtype(leaf)
    if hasattr(leaf, "shape") and hasattr(leaf, "dtype"):
        return tuple(leaf.shape), np.dtype(leaf.dtype)
    array = np.asarray(leaf)
    return array.shape, array.dtype


def _canonical(dtype: np.dtype) -> np.dtype:
    # A `like` leaf may have a dtype funcgrad does not support; it then matches nothing.
    return dtypes.canonicalize_dtype(dtype) if dtype in dtypes.SUPPORTED_DTYPES else dtype


def _mismatches(expected: dict[str, Any], stored: dict[str, safetensors.TensorEntry]) -> list:
    missing = [name for name in expected if name not in stored]
    unexpected = sorted(name for name in stored if name not in expected)
    shapes, dtype_lines = [], []
    for name, leaf in expected.items():
        entry = stored.get(name)
        if entry is None:
            continue
        shape, dtype = _like_shape_dtype(leaf)
        if shape != entry.shape:
            shapes.append(f"{name}: file {entry.shape}, like {shape}")
        if _canonical(dtype) != _canonical(entry.dtype):
            dtype_lines.append(f"{name}: file {entry.dtype.name}, like {dtype.name}")
    problems = []
    for title, lines in (
        ("missing from the file", missing),
        ("in the file but not in like", unexpected),
        ("shape mismatches", shapes),
        ("dtype mismatches", dtype_lines),
    ):
        if lines:
            listed = "; ".join(lines[:_MAX_LISTED])
            more = f"; ... and {len(lines) - _MAX_LISTED} more" if len(lines) > _MAX_LISTED else ""
            problems.append(f"  {title} ({len(lines)}): {listed}{more}")
    return problems
