"""The runtime's volume side: named/anonymous volumes, copy-up, binds, tmpfs, secrets.

Public API (what the orchestrator, the CLI and the runtime core call):

* :class:`runtime.volumes.store.VolumeStore` — create/get/list/prepare/release/remove/prune
* :func:`runtime.volumes.inuse.volumes_in_use` / ``volume_users`` — from container state
* :func:`runtime.volumes.copyup.copy_up` — fill an empty volume from the image
* :mod:`runtime.volumes.mounts` — ``bind_mount``, ``volume_mount``, ``tmpfs_mount``,
  ``parse_tmpfs``, ``parse_mode``, ``volumes_from``, ``anonymous_volume``,
  ``anonymous_targets``
* :func:`runtime.volumes.secrets.materialize` — secrets/configs -> read-only bind mounts
* :func:`runtime.volumes.archive.write_tar` / ``extract_tar`` — export/import

Submodules are imported on use (keeps CLI start-up lean).
"""
