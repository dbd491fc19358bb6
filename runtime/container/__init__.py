"""Containers: lifecycle state machine, on-disk store, one module per verb.

Kept import-free: the shim imports :mod:`runtime.container.statefile` and must not pay
for the rest.
"""
