"""Chat for :LocalLLMExplain: what every backend's chat() takes and gives back.

Each backend module has its own chat(): llama-server `/v1/chat/completions`, Ollama `/api/chat`,
llama-cpp-python `create_chat_completion` (embedded), `/chat/completions` on an
OpenAI-compatible server. They stream the answer's text piece by piece and stop at once when
the request is cancelled, like complete() does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from . import Cancellation

Message = dict[str, str]
"""{"role": "system" | "user" | "assistant", "content": "..."}"""

# Without a known context size (OpenAI-compatible servers do not say) we assume this much.
DEFAULT_CONTEXT = 4096


@dataclass(frozen=True, slots=True)
class ChatParams:
    max_tokens: int = 512
    temperature: float = 0.2
    # Small models loop on their own sentences without a little penalty.
    repeat_penalty: float = 1.1


@dataclass(frozen=True, slots=True)
class ChatModel:
    """What the chat model is: `label` for the window title, its context size in tokens (None
    when unknown) and a note for the user (e.g. no chat template: a plain prompt is used)."""

    label: str
    n_ctx: int | None = None
    note: str | None = None


@dataclass(slots=True)
class ChatStats:
    prompt_tokens: int = 0
    generated_tokens: int = 0
    finish: str = ""


class ChatBackend(Protocol):
    name: str

    def chat_model(self) -> ChatModel:
        """Connect or load (may block; runs on the explain worker thread)."""
        ...

    def chat(
        self,
        messages: Sequence[Message],
        params: ChatParams,
        cancel: Cancellation,
        stats: ChatStats,
    ) -> Iterator[str]:
        """Stream the assistant's answer."""
        ...

    def close(self) -> None: ...


# A model without a chat template gets the conversation as plain text in this shape; it stops
# where it would start the next turn.
PLAIN_STOPS = ("\n### User", "\n### System", "\n### Question", "\n\n\n\n")


def plain_chat_prompt(messages: Sequence[Message]) -> str:
    """The conversation as plain text for a model that has no chat template."""
    parts = []
    for message in messages:
        role = message.get("role", "user")
        title = {"system": "System", "assistant": "Answer"}.get(role, "User")
        parts.append(f"### {title}\n{message.get('content', '').strip()}\n")
    parts.append("### Answer\n")
    return "\n".join(parts)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def openai_chat_piece(event: Mapping[str, Any], stats: ChatStats) -> str:
    """The text one streamed OpenAI-style chat event adds ("" for none). Its token counts
    (`usage`, and llama-server's `timings`) and finish reason go into `stats`."""
    usage = event.get("usage")
    if isinstance(usage, Mapping):
        prompt = _count(usage.get("prompt_tokens"))
        generated = _count(usage.get("completion_tokens"))
        if prompt is not None:
            stats.prompt_tokens = prompt
        if generated is not None:
            stats.generated_tokens = generated
    timings = event.get("timings")
    if isinstance(timings, Mapping):
        predicted = _count(timings.get("predicted_n"))
        if predicted is not None:
            stats.generated_tokens = predicted
    choices = event.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        return ""
    choice = choices[0]
    finish = choice.get("finish_reason")
    if isinstance(finish, str) and finish:
        stats.finish = finish
    delta = choice.get("delta")
    content = delta.get("content") if isinstance(delta, Mapping) else None
    return content if isinstance(content, str) else ""
