"""Process confinement applied by the container init: capabilities, seccomp,
no_new_privs, and Docker's masked / read-only paths (data in ``defaults``).

Stdlib + ctypes only (libseccomp.so.2 for seccomp): imported by the lean init.
"""
