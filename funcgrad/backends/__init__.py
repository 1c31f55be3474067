"""Backends: each turns a program into something that runs (numpy/ is the reference)."""
