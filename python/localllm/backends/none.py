"""`backend = "none"`: no model at all. Only suggestions that need no model are offered."""

from __future__ import annotations

from collections.abc import Iterator

from ..types import FimContext, GenerationParams, RequestTimings
from . import BackendInfo, Cancellation


class NoModelBackend:
    name = "none"

    def info(self) -> BackendInfo:
        return BackendInfo(name=self.name, model=None, fim=None, state="ready")

    def prepare(self) -> None:
        return None

    def complete(
        self,
        ctx: FimContext,
        params: GenerationParams,
        cancel: Cancellation,
        timings: RequestTimings,
    ) -> Iterator[str]:
        return iter(())

    def close(self) -> None:
        return None
