"""The error every part of the compliance policy document raises: the file, the field, what is wrong."""

from __future__ import annotations


class PolicyError(ValueError):
    """The policy document is invalid; names the source and the offending field."""

    def __init__(self, source: str, field_name: str, message: str) -> None:
        super().__init__(f"{source}: {field_name}: {message}")
        self.source = source
        self.field = field_name
        self.message = message
