"""Dockerfile builder: parser, context, cache keys, build engine, commit."""
