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

__all__ = ["Image", "ImageStore", "LayerInfo", "Reference", "parse_reference"]
