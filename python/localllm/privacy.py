"""What may leave the editor, and to where. Pure: no pynvim, no httpx.

- Files that hold secrets are never sent: their names are matched against a deny list of
  glob patterns (`privacy.deny`, extended by `privacy.deny_extra`). The editor side
  (lua/localllm/privacy.lua) applies the same patterns, plus `vim.b.localllm_disable` and
  `vim.g.localllm_disable`; this module is the host's own check on every path it is given.
- Plain http to a machine other than this one needs `privacy.allow_remote_http = true`:
  https and loopback addresses are always fine.
- The log file holds no buffer text, prompt, suggestion or model output below the debug level
  (log calls keep such text to `log.debug`; PrivateFormatter leaves exception messages out of
  tracebacks), and never an API key at any level (keys are registered and masked).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import logging
import os
import threading
import traceback
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_DENY",
    "PrivateFormatter",
    "denied",
    "is_loopback",
    "names_of",
    "plain_http_refusal",
    "redact",
    "register_secret",
    "sends_in_clear",
]

# Matched against the file name (without its folder), case-insensitively; a pattern with a `/`
# is matched against the end of the whole path instead (`.ssh/*`: every file in a .ssh folder).
DEFAULT_DENY: tuple[str, ...] = (
    ".env",
    ".env.*",
    "*.env",
    ".envrc",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.kdbx",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".ssh/*",
    ".gnupg/*",
    ".netrc",
    "_netrc",
    ".git-credentials",
    ".npmrc",
    ".pypirc",
    ".pgpass",
    ".htpasswd",
    "credentials.json",
    ".aws/credentials",
    ".docker/config.json",
    ".kube/config",
    "*.tfvars",
    "*.tfstate",
    "gh/hosts.yml",
    ".vault-token",
    "*.p8",
    "*.ppk",
    "*.keytab",
    "*.ovpn",
    "*.gpg",
    ".terraformrc",
    "terraform.rc",
    ".s3cfg",
    ".boto",
    ".my.cnf",
    "secrets.yaml",
    "secrets.yml",
    ".dockercfg",
    ".gem/credentials",
    ".cargo/credentials",
    ".cargo/credentials.toml",
    ".config/gcloud/*credentials*",
    ".azure/*",
)


def _matches(path: str, pattern: str) -> bool:
    pattern = pattern.lower()
    if "/" in pattern:
        whole = path.replace(os.sep, "/").lower()
        return fnmatch.fnmatchcase(whole, pattern) or fnmatch.fnmatchcase(whole, "*/" + pattern)
    return fnmatch.fnmatchcase(os.path.basename(path).lower(), pattern)


def names_of(path: str) -> tuple[str, ...]:
    """The names a file goes by: `path` and, when a symlink leads elsewhere, its real path."""
    if not path:
        return ()
    try:
        real = os.path.realpath(path)
    except (OSError, ValueError):
        return (path,)
    return (path,) if real == path else (path, real)


def denied(path: str, patterns: Iterable[str]) -> str | None:
    """The first pattern that `path` or its real path matches (the file must never be sent:
    a symlink to `.env` is `.env`), else None."""
    names = names_of(path)
    for pattern in patterns:
        if pattern and any(_matches(name, pattern) for name in names):
            return pattern
    return None


def is_loopback(url: str) -> bool:
    """Whether `url` points at this machine (localhost, 127.0.0.0/8, ::1)."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def sends_in_clear(url: str) -> bool:
    """Plain http to another machine: anyone on the way can read what is sent."""
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return False
    return scheme == "http" and not is_loopback(url)


def plain_http_refusal(url: str) -> str:
    """Why a plain-http URL to another machine is refused, and what to do instead."""
    host = urlsplit(url).hostname or url
    return (
        f"{url} is plain http to another machine: your code (and API key) would cross the "
        f"network unencrypted. Use https, or an SSH tunnel to a loopback port "
        f"(ssh -L 8012:127.0.0.1:8012 {host}), or set privacy.allow_remote_http = true"
    )


# -- secrets in the log ------------------------------------------------------------------------

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
MASK = "[secret]"


def register_secret(value: str | None) -> None:
    """An API key (or other secret) that must never reach the log file."""
    if value and len(value.strip()) >= 4:
        with _secrets_lock:
            _secrets.add(value.strip())


def redact(text: str) -> str:
    """`text` with every registered secret masked."""
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class PrivateFormatter(logging.Formatter):
    """Masks registered secrets in every line; below the debug level, a traceback names the
    exception's type and where it happened, but not its message (which may quote buffer text,
    a prompt or the model's output)."""

    def __init__(self, fmt: str | None = None, *, debug: bool = False) -> None:
        super().__init__(fmt)
        self.debug = debug

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))

    def formatException(self, ei: Any) -> str:
        if self.debug:
            return super().formatException(ei)
        etype, _value, tb = ei
        frames = "".join(traceback.format_list(traceback.extract_tb(tb)))
        name = getattr(etype, "__name__", str(etype))
        return (
            f"Traceback (most recent call last):\n{frames}{name} "
            "(its message is logged at log_level 'debug' only)"
        )
