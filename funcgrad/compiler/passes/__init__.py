"""Jaxpr -> Jaxpr passes."""
