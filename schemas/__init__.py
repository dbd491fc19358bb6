"""pycompose's own JSON Schemas (shipped as package data)."""

from pathlib import Path

SCHEMA_DIR = Path(__file__).parent
