"""The LLVM backend: fusion groups compiled to native, vectorized loops with llvmlite."""
