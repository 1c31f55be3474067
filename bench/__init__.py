"""funcgrad's benchmarks: `python bench/run.py` measures every workload against NumPy, JAX
and PyTorch in one process, with the machine's limits (see bench/run.py)."""
