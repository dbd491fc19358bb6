"""The orchestrator: loading, schema validation, model, dependency graph, project
operations and the CLI.  May import ``runtime``; never the other way round."""
