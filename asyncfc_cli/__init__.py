"""asyncfc: a terminal coding agent whose tool calls are futures."""

__version__ = "0.1.0"
