"""The per-container shim (our conmon) and the container's init stage.

Import graph is deliberately tiny (os, sys, json, socket, select, signal, ctypes): the
shim is a re-exec'd ``python -I -S`` process per container, alive as long as the
container, and its start-up time and memory are on every ``run``'s bill.
"""
