"""Composition roots: each builds one process role's objects from its settings, at start-up.

Nothing here runs at import. Entry points (the scoring app's lifespan, the Functions' lazy
dependencies, the CLIs, the global app) call these builders once and keep what they return.
"""
