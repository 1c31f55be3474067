"""The heart of funcgrad: abstract values, primitives, traces and the jaxpr IR.

Nothing here knows any particular primitive; `funcgrad.lax` defines those on top.
"""
