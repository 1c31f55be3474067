"""The NumPy backend: the reference every other backend is tested against."""
