"""Validation of the merged compose tree: the JSON Schema (``schema``) and the checks
a schema cannot express (``semantic``).  Both return located issues; nothing raises
until :func:`compose.project_loader.load_project` has collected all of them."""
