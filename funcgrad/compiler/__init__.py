"""jit: the optimizing pipeline from a jaxpr to a scheduled program (passes/ holds the
Jaxpr -> Jaxpr passes, each small and tested alone)."""
