"""Exceptions: every error the sandbox raises on purpose.

The tree::

    SandboxError                 base: catch this to catch everything below
    ├── ScenarioError            a scenario file, dict or text is invalid
    │                            (names the source, the field path and the reason)
    ├── StaleDesign              the app's store refused a save: the design changed since it was loaded
    ├── StoreLimit               a workspace reached a bound on what it may keep
    ├── StoreUnavailable         the app's store file cannot be opened (the reason in plain words)
    │                            (these three live in sandbox.store, with the store)
    └── SimulationError          a valid scenario could not be simulated
        │                        (for example a run limit was reached)
        └── RunCancelled         the caller asked the run to stop
"""

from __future__ import annotations

__all__ = ["SandboxError", "ScenarioError", "SimulationError", "RunCancelled"]


class SandboxError(Exception):
    """Base class of every error the sandbox raises on purpose."""


class ScenarioError(SandboxError):
    """A scenario is invalid.

    ``problems`` holds one ``(field_path, reason)`` pair per problem found, and
    ``source`` names the file (or ``<dict>``/``<text>``) it came from. ``str()``
    gives one readable message, one line per problem.
    """

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = [f"{source}: {path}: {reason}" if path else f"{source}: {reason}"
                 for path, reason in self.problems]
        super().__init__("\n".join(lines))


class SimulationError(SandboxError):
    """A valid scenario could not be simulated."""


class RunCancelled(SimulationError):
    """A run stopped because its caller asked it to (``simulate(..., cancel=...)``)."""
