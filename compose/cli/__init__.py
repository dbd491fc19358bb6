"""The ``pycompose`` command line.  Thin: parses, calls the API, renders."""
