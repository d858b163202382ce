"""Split a response on chat-template and role markers into the model's turns.

A model that leaks its template can write a refusal, then an end-of-turn token
or a role marker of its own, then a fake new turn that complies:
``"I can't help.<|im_end|><|im_start|>assistant Sure: 1. ..."``. A serving
stack that does not stop at that token, or a user who reads on, gets the
answer, so a safety gate judges every turn the model wrote as itself
(:func:`assistant_turns`): the assistant's, and text after an end-of-turn
token that names no role. Text the model wrote as another role
(``<|im_start|>user``, ``[INST]``, ``User:``, ``### Instruction:``) is never
its own assertion. Families: ChatML, Llama-2 ``[INST]``, Llama-3 header
tokens, Gemma, Phi, Alpaca ``### Response:``, plain ``User:``/``Assistant:``
lines, and the common end-of-turn tokens.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

ASSISTANT = "assistant"
OTHER = "other"
OUTSIDE = "outside"

_ASSISTANT_ROLES = {"assistant", "model", "gpt", "bot", "response"}

#: (pattern, role); a named group ``role`` gives the role from the text.
_MARKERS: tuple[tuple[str, str | None], ...] = (
    (r"<\|im_start\|>\s*(?P<role>\w+)?", None),
    (r"<\|start_header_id\|>\s*(?P<role>\w+)\s*<\|end_header_id\|>", None),
    (r"<start_of_turn>\s*(?P<role>\w+)?", None),
    (r"<\|(?P<role>user|assistant|system)\|>", None),
    (r"\[/INST\]", ASSISTANT),
    (r"\[INST\]", OTHER),
    (r"(?:^|\n)[ \t]*(?P<role>user|human|assistant|system)[ \t]*:", None),
    (r"###[ \t]*(?P<role>instruction|input|response)[ \t]*:", None),
    (r"<\|im_end\|>|<\|eot_id\|>|<\|end\|>|<\|endoftext\|>", OUTSIDE),
    (r"<end_of_turn>|</s>", OUTSIDE),
)
_PATTERN = re.compile(
    "|".join(f"(?:{p})" for p, _ in _MARKERS).replace("(?P<role>", "(?:"),
    re.IGNORECASE,
)
_COMPILED = [(re.compile(p, re.IGNORECASE), role) for p, role in _MARKERS]


@dataclass(frozen=True)
class Turn:
    """One stretch of a response between markers."""

    role: str
    text: str
    start: int
    #: Where the marker that ended it starts (None: the text ran to the end).
    end: int | None


def split_turns(response: str) -> list[Turn]:
    """The response as turns; the text before any marker is the assistant's."""
    turns: list[Turn] = []
    role, start = ASSISTANT, 0
    for found in _PATTERN.finditer(response):
        turns.append(Turn(role, response[start : found.start()], start, found.start()))
        role, start = _role(found.group(0)), found.end()
    turns.append(Turn(role, response[start:], start, None))
    return turns


def first_turn(response: str) -> Turn:
    """The first assistant turn with any word in it (an empty one if none)."""
    for turn in split_turns(response):
        if turn.role == ASSISTANT and wordlike(turn.text):
            return turn
    return Turn(ASSISTANT, "", 0, None)


def assistant_turns(response: str) -> list[Turn]:
    """Every turn the model wrote as itself with anything in it, in order.

    The assistant's turns and the text after an end-of-turn token that names
    no role (the model went on writing); never another role's turn.
    """
    return [
        turn
        for turn in split_turns(response)
        if turn.role in (ASSISTANT, OUTSIDE) and wordlike(turn.text)
    ]


def wordlike(text: str) -> bool:
    """Whether ``text`` holds a letter, a digit or a symbol (an emoji, say).

    The replacement character (U+FFFD, a symbol too) is none of them.
    """
    return any(
        c.isalnum() or (unicodedata.category(c) == "So" and c != "\ufffd") for c in text
    )


def _role(marker: str) -> str:
    for pattern, fixed in _COMPILED:
        found = pattern.fullmatch(marker.strip("\n")) or pattern.fullmatch(marker)
        if found is None:
            continue
        if fixed is not None:
            return fixed
        name = (found.groupdict().get("role") or "").lower()
        return ASSISTANT if name in _ASSISTANT_ROLES else OTHER
    return OUTSIDE
