"""The embedded container runtime: images, containers, namespaces, cgroups, mounts,
networks, volumes and supervision.  This package never imports ``compose``."""
