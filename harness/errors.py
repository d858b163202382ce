"""Exceptions raised by the library; the pytest face translates them for users."""

from __future__ import annotations


class HarnessError(Exception):
    """Base class of every error the harness raises on purpose."""


class ConfigError(HarnessError):
    """A setting, YAML file or data file is invalid; the message names it."""


class CheckpointError(HarnessError):
    """A checkpoint cannot be found, read or trusted."""


class MissingDependencyError(HarnessError):
    """An optional dependency is needed for the requested feature."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"{package} is not installed; install it with: "
            f"pip install 'safety-layer-harness[{extra}]'"
        )
        self.package = package
        self.extra = extra


class BackendUnavailableError(HarnessError):
    """The requested generation backend cannot run on this machine."""


class IncompatibleModelsError(HarnessError):
    """Two checkpoints cannot be compared (architecture, layers or vocabulary)."""
