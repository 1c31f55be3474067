"""funcgrad.io: checkpoints, pytrees of arrays in safetensors files.

    import funcgrad.io
    funcgrad.io.save("model.safetensors", params, metadata={"step": "1000"})
    params = funcgrad.io.load("model.safetensors", like=params)

Files are plain safetensors (readable by the `safetensors` library and by PyTorch,
and the other way round), written atomically and checked against a SHA-256 on load.
funcgrad/io/checkpoint.py documents the naming scheme; funcgrad/io/safetensors.py the
format itself.
"""

from funcgrad.io.checkpoint import load, metadata, save

__all__ = ["load", "metadata", "save"]
