"""Our own error types. Messages say what happened and what to do about it.

LocalLLMError
├── ConfigError            a setting is wrong (names the key)
├── ModelError             no model, or the model file cannot be used
└── BackendError           the backend failed while completing
    └── BackendUnavailable the backend cannot be reached or is not ready
        └── BackendTimeout a server did not answer within its deadline
"""

from __future__ import annotations


class LocalLLMError(Exception):
    """Base class: every error the plugin reports to the user."""


class ConfigError(LocalLLMError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"config.{key}: {message}")
        self.key = key


class ModelError(LocalLLMError):
    pass


class BackendError(LocalLLMError):
    pass


class BackendUnavailable(BackendError):
    pass


class BackendTimeout(BackendUnavailable):
    """A server accepted the call but did not answer all of it in time (stopped, wedged)."""
