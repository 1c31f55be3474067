"""funcgrad.viz: seeing programs — pictures of jaxprs and of jit's fusion groups, and
per-step profiles of jitted programs mapped back to the user's lines.

    import funcgrad.viz as viz
    viz.graph(jax.make_jaxpr(f)(x)).save("f.svg")    # needs Graphviz; print(...) always works
    viz.graph(jax.jit(f), x)                          # fusion groups as clusters
    print(viz.profile(jax.jit(f), x, repeat=10))      # time per kernel and source line

In Jupyter, jaxprs and jit's Lowered/Compiled stages show themselves as these pictures.
"""

from funcgrad.viz.dot import groups_to_dot, jaxpr_to_dot
from funcgrad.viz.profile import Profile, ProfileRow, profile
from funcgrad.viz.render import Graph, GraphvizMissingError, can_render, graph, html

__all__ = [
    "Graph",
    "GraphvizMissingError",
    "Profile",
    "ProfileRow",
    "can_render",
    "graph",
    "groups_to_dot",
    "html",
    "jaxpr_to_dot",
    "profile",
]
