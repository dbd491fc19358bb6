"""Project operations: plan, then execute, through the runtime API.

``up``/``down`` and every compose verb live in one module each; they share a
:class:`~compose.project.context.ProjectContext` (project model + runtime + event bus).
"""
