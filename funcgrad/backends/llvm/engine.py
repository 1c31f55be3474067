"""LLVM for the host CPU: optimize a module of kernels, compile it, hand back callables.

Modules are optimized with LLVM's new pass manager at -O3 with loop and SLP vectorization,
for the host CPU and all its features (AVX2/FMA here), so the inner loops of elementwise
kernels become vector code. A module asked for with `optimize=False` skips the optimizer
and uses LLVM's fast instruction selection instead: ten times quicker to compile, for
kernels too small for their speed to matter. A module LLVM rejects raises
`KernelCompileError` holding its IR, never a crash.

Compiling costs tens of milliseconds per module, so results are cached twice:

- in memory, for the life of the process (the compiled code must outlive every kernel
  handed out anyway);
- on disk, as object code plus the optimized IR, one file per module under
  `$FUNCGRAD_CACHE_DIR/llvm/` (default `~/.cache/funcgrad/llvm/`, following
  `$XDG_CACHE_HOME`). A second process running the same program loads the object code
  into a fresh engine and runs neither the optimizer nor code generation.
  `FUNCGRAD_DISK_CACHE=0` turns the disk cache off; an empty `FUNCGRAD_CACHE_DIR` counts
  as unset.

Both are keyed by a hash of the IR text, whether it is optimized, the host CPU and its
features, and the llvmlite and LLVM versions, so a cache directory shared between machines
or upgrades never hands out code built for something else. Entries are written to a
temporary file and renamed into place, so a reader sees a whole entry or none; each carries
a checksum, because loading damaged object code would crash the process rather than raise.
An unreadable, damaged or mismatched entry is recompiled and overwritten; an unwritable
cache directory only costs the compile next time.

Every compiled module gets its own MCJIT execution engine, whether its object code came
from code generation just now or from disk: the cold path emits the object file and loads
it exactly as a cache hit would, so both run the same code.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import llvmlite
import llvmlite.binding as llvm

__all__ = [
    "KernelCompileError",
    "CompiledModule",
    "compile_ir",
    "target_machine",
    "kernel_key",
    "cache_directory",
    "cache_stats",
    "clear_memory_cache",
    "KERNEL_SIGNATURE",
]

# Bump when the optimization pipeline or the layout of a disk entry changes: it is part of
# every key, so older entries are simply never looked up again.
_CACHE_FORMAT = 1
_ENTRY_SUFFIX = ".kernel"

_lock = threading.Lock()  # LLVM's global state is not safe to drive from several threads
_memory_cache: dict[str, CompiledModule] = {}
_stats = {"compiled": 0, "memory_hits": 0, "disk_hits": 0}


class KernelCompileError(RuntimeError):
    """LLVM refused a generated kernel; `.ir` holds the module text."""

    def __init__(self, message: str, ir: str):
        super().__init__(f"{message}\n--- kernel IR ---\n{ir}")
        self.ir = ir


@functools.lru_cache(maxsize=None)
def _host_cpu() -> tuple[str, str]:
    """The host CPU's name and feature string, as LLVM sees them."""
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    return llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()


@functools.lru_cache(maxsize=None)
def target_machine(opt: int = 3) -> llvm.TargetMachine:
    """The target machine for the host CPU with all its features, generating code at
    optimization level `opt` (3, or 0 for fast instruction selection).

    Shared by the optimizer and code generation; never hand it to an execution engine,
    which takes ownership and destroys it along with itself.
    """
    return _create_target_machine(opt)


def _create_target_machine(opt: int = 3) -> llvm.TargetMachine:
    cpu, features = _host_cpu()
    target = llvm.Target.from_triple(llvm.get_process_triple())
    return target.create_target_machine(
        cpu=cpu, features=features, opt=opt, reloc="default", codemodel="jitdefault"
    )


def kernel_key(ir_text: str, optimize: bool = True) -> str:
    """The cache key of a module: what decides the machine code compiling `ir_text` gives.

    >>> len(kernel_key("define void @k() {\\n  ret void\\n}"))
    64
    """
    level = _length_prefixed("O3" if optimize else "O0")
    return hashlib.sha256(_key_prefix() + level + _length_prefixed(ir_text)).hexdigest()


@functools.lru_cache(maxsize=None)
def _key_prefix() -> bytes:
    """Everything in a key but the IR: entry format, versions, host CPU."""
    cpu, features = _host_cpu()
    parts = (
        str(_CACHE_FORMAT),
        llvmlite.__version__,
        ".".join(map(str, llvm.llvm_version_info)),
        llvm.get_process_triple(),
        cpu,
        features,
    )
    return b"".join(map(_length_prefixed, parts))


def _length_prefixed(part: str) -> bytes:
    data = part.encode()
    return b"%d:%s" % (len(data), data)  # so no two sequences of parts read the same


def cache_directory() -> Path | None:
    """Where compiled kernels are kept on disk, or None when the disk cache is off.

    `FUNCGRAD_CACHE_DIR` chooses the funcgrad cache (default `$XDG_CACHE_HOME/funcgrad`,
    i.e. `~/.cache/funcgrad`); kernels live in its `llvm/` folder. `FUNCGRAD_DISK_CACHE=0`
    (or false/no/off) turns the disk cache off. Read on every compile, so a test can point
    it elsewhere.
    """
    switch = os.environ.get("FUNCGRAD_DISK_CACHE", "1").strip().lower()
    if switch in ("0", "false", "no", "off"):
        return None
    if switch not in ("", "1", "true", "yes", "on"):
        raise ValueError(
            f"environment variable FUNCGRAD_DISK_CACHE={switch!r} is not a boolean; "
            "use 1/0, true/false or on/off"
        )
    root = os.environ.get("FUNCGRAD_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "funcgrad",
    )
    return Path(root) / "llvm"


def cache_stats() -> dict[str, int]:
    """Counts since the process started: modules `compiled`, `memory_hits`, `disk_hits`."""
    with _lock:
        return dict(_stats)


def clear_memory_cache() -> None:
    """Forget the modules compiled in this process (the disk cache stays)."""
    with _lock:
        _memory_cache.clear()


@dataclass(eq=False)
class CompiledModule:
    """Compiled kernels of one module: `address(name)`, and the optimized IR and assembly."""

    engine: object
    optimized_ir: str
    assembly: str

    def address(self, name: str) -> int:
        """The address of the compiled function `name`."""
        address = self.engine.get_function_address(name)
        if not address:
            raise KeyError(f"the compiled module defines no function named {name!r}")
        return address

    def cfunc(self, name: str, signature) -> object:
        """The kernel as a ctypes function (calling it releases the GIL)."""
        return signature(self.address(name))


class _Entry(NamedTuple):
    """What the disk cache holds for one module."""

    object_code: bytes
    optimized_ir: str
    assembly: str


def compile_ir(
    ir_text: str, *, optimize: bool = True, keep_assembly: bool = False
) -> CompiledModule:
    """Parse, verify, optimize and compile `ir_text` for the host CPU, or reuse a cached copy.

    `optimize=False` compiles without the optimizer, with fast instruction selection.
    `keep_assembly` also produces the assembly listing (a module cached without one is
    compiled again to get it).
    """
    with _lock:
        key = kernel_key(ir_text, optimize)
        cached = _memory_cache.get(key)
        if cached is not None and (cached.assembly or not keep_assembly):
            _stats["memory_hits"] += 1
            return cached
        directory = cache_directory()
        entry = _read_entry(directory, key) if directory is not None else None
        compiled = None
        if entry is not None and (entry.assembly or not keep_assembly):
            compiled = _load(entry)
            if compiled is not None:
                _stats["disk_hits"] += 1
        if compiled is None:
            entry = _compile(ir_text, optimize, keep_assembly)
            _stats["compiled"] += 1
            if directory is not None:
                _write_entry(directory, key, entry)
            compiled = _load(entry)
            if compiled is None:
                raise KernelCompileError("LLVM could not load the kernel it compiled", ir_text)
        _memory_cache[key] = compiled
        return compiled


def _optimize(module: llvm.ModuleRef) -> None:
    tuning = llvm.create_pipeline_tuning_options(speed_level=3)
    tuning.loop_vectorization = True
    tuning.slp_vectorization = True
    tuning.loop_unrolling = True
    builder = llvm.create_pass_builder(target_machine(), tuning)
    builder.getModulePassManager().run(module, builder)


def _compile(ir_text: str, optimize: bool, keep_assembly: bool) -> _Entry:
    """Run the optimizer and code generation: the object code of `ir_text`."""
    try:
        module = llvm.parse_assembly(ir_text)
        module.verify()
    except RuntimeError as err:
        raise KernelCompileError(f"LLVM rejected a generated kernel: {err}", ir_text) from None
    machine = target_machine(3 if optimize else 0)
    module.triple = machine.triple
    module.data_layout = str(machine.target_data)
    if optimize:
        _optimize(module)
    optimized_ir = str(module)
    object_code = machine.emit_object(module)
    assembly = machine.emit_assembly(module) if keep_assembly else ""
    return _Entry(object_code, optimized_ir, assembly)


def _load(entry: _Entry) -> CompiledModule | None:
    """Link `entry`'s object code into a fresh engine; None when LLVM refuses it."""
    machine = _create_target_machine()  # the engine owns it and frees it when it goes
    empty = llvm.parse_assembly("")
    empty.triple = machine.triple
    empty.data_layout = str(machine.target_data)
    engine = llvm.create_mcjit_compiler(empty, machine)
    try:
        engine.add_object_file(llvm.ObjectFileRef.from_data(entry.object_code))
        engine.finalize_object()
    except RuntimeError:
        return None
    return CompiledModule(engine, entry.optimized_ir, entry.assembly)


# A disk entry is one JSON header line (format, key, section sizes, checksum) followed by
# the object code, the optimized IR and the assembly, back to back.


def _encode_entry(key: str, entry: _Entry) -> bytes:
    sections = [entry.object_code, entry.optimized_ir.encode(), entry.assembly.encode()]
    payload = b"".join(sections)
    header = {
        "format": _CACHE_FORMAT,
        "key": key,
        "sizes": [len(section) for section in sections],
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    return json.dumps(header).encode() + b"\n" + payload


def _decode_entry(key: str, data: bytes) -> _Entry | None:
    """The entry `data` holds, or None unless it is whole, undamaged and for `key`."""
    header_line, _, payload = data.partition(b"\n")
    try:
        header = json.loads(header_line)
        sizes = [int(size) for size in header["sizes"]]
        whole = (
            header["format"] == _CACHE_FORMAT
            and header["key"] == key
            and len(sizes) == 3
            and min(sizes) >= 0
            and sum(sizes) == len(payload)
            and header["sha256"] == hashlib.sha256(payload).hexdigest()
        )
        if not whole:
            return None
        object_end = sizes[0]
        ir_end = object_end + sizes[1]
        return _Entry(
            payload[:object_end], payload[object_end:ir_end].decode(), payload[ir_end:].decode()
        )
    except (ValueError, KeyError, TypeError):  # includes JSON and UTF-8 decoding errors
        return None


def _read_entry(directory: Path, key: str) -> _Entry | None:
    try:
        data = (directory / (key + _ENTRY_SUFFIX)).read_bytes()
    except OSError:
        return None
    return _decode_entry(key, data)


def _write_entry(directory: Path, key: str, entry: _Entry) -> None:
    """Store `entry` atomically: readers see the old file, the new one, or none."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{key}.", suffix=".tmp")
    except OSError:
        return  # an unwritable cache only costs the compile next time
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(_encode_entry(key, entry))
        os.replace(temporary, directory / (key + _ENTRY_SUFFIX))
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if not isinstance(err, OSError):
            raise


# The kernel ABI: kernel(start, stop, pointers): run iterations [start, stop) of the
# kernel's outermost parallel loop over the buffers whose addresses `pointers` holds.
KERNEL_SIGNATURE = ctypes.CFUNCTYPE(
    None, ctypes.c_int64, ctypes.c_int64, ctypes.POINTER(ctypes.c_void_p)
)
