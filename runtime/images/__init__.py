"""Images: content store, references, safe layer extraction, registry pull/push, archives.

Public API (what the runtime and the orchestrator call)::

    from runtime.images import ImageStore, parse_reference
    img = ImageStore(paths).resolve("redis:7")      # -> Image
    img.id, img.config, img.layer_dirs(), img.references

    from runtime.images.pull import pull_images, pull          # async / sync
    from runtime.images.policy import needs_pull                 # pull_policy helper
"""

from runtime.images.reference import Reference
from runtime.images.reference import parse as parse_reference
from runtime.images.store import Image, ImageStore, LayerInfo

__all__ = ["Image", "ImageStore", "LayerInfo", "Reference", "parse_reference", "resolve"]


def resolve(image_arg: str, paths=None):
    """The seam used by ``runtime.container.image.resolve_rootfs``: returns
    ``(image_ref, image_id, layer_dirs topmost first, image config)`` or raises
    :class:`runtime.images.errors.ImageNotFound`."""
    from runtime.paths import StatePaths

    img = ImageStore(paths or StatePaths.resolve()).resolve(image_arg)
    return image_arg, img.id, img.layer_dirs(), img.config
