"""Transforms as interpreters: each module is a Trace subclass plus its driver."""
