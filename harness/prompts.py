"""Turn instructions into model prompts: chat template or Alpaca (paper App. A.1)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

from harness.errors import ConfigError

ALPACA_TEMPLATE = (
    "Below is an instruction that describes a task. Write a response that "
    "appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Response:\n"
)
ALPACA_INPUT_TEMPLATE = (
    "Below is an instruction that describes a task, paired with an input that "
    "provides further context. Write a response that appropriately completes "
    "the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
)


class TemplateKind(str, Enum):
    """How instructions become prompts.

    ``auto`` uses the tokenizer's chat template when it has one, else Alpaca.
    """

    AUTO = "auto"
    CHAT = "chat"
    ALPACA = "alpaca"


def alpaca_prompt(instruction: str, input_text: str = "") -> str:
    """Format one instruction with the Alpaca template (paper App. A.1)."""
    if input_text:
        return ALPACA_INPUT_TEMPLATE.format(instruction=instruction, input=input_text)
    return ALPACA_TEMPLATE.format(instruction=instruction)


def has_chat_template(tokenizer: Any) -> bool:
    """Return True when the tokenizer ships a chat template."""
    return bool(getattr(tokenizer, "chat_template", None))


class PromptFormatter:
    """Formats instructions for one tokenizer with a fixed template choice."""

    def __init__(self, tokenizer: Any, template: TemplateKind | str = "auto") -> None:
        kind = TemplateKind(template)
        if kind is TemplateKind.AUTO:
            kind = (
                TemplateKind.CHAT
                if has_chat_template(tokenizer)
                else TemplateKind.ALPACA
            )
        if kind is TemplateKind.CHAT and not has_chat_template(tokenizer):
            raise ConfigError("template 'chat' requested but the tokenizer has none")
        self.tokenizer = tokenizer
        self.kind = kind

    def prompt(self, instruction: str) -> str:
        """Return the text the model sees before it starts its answer."""
        if self.kind is TemplateKind.ALPACA:
            return alpaca_prompt(instruction)
        messages = [{"role": "user", "content": instruction}]
        text = self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        return str(text)

    def prompts(self, instructions: Sequence[str]) -> list[str]:
        """Format many instructions."""
        return [self.prompt(i) for i in instructions]

    def conversation(self, instruction: str, response: str) -> tuple[str, str]:
        """Return (prompt, prompt + response + end) for supervised training."""
        prompt = self.prompt(instruction)
        if self.kind is TemplateKind.ALPACA:
            eos = self.tokenizer.eos_token or ""
            return prompt, prompt + response + eos
        messages = [
            {"role": "user", "content": instruction},
            {"role": "assistant", "content": response},
        ]
        full = str(self.tokenizer.apply_chat_template(messages, tokenize=False))
        if not full.startswith(prompt):
            # Templates that rewrite history (rare) fall back to concatenation.
            eos = self.tokenizer.eos_token or ""
            full = prompt + response + eos
        return prompt, full


def adds_special_tokens(tokenizer: Any, text: str) -> bool:
    """Whether tokenizing ``text`` should add special tokens (BOS).

    Chat templates usually write the BOS token themselves; adding it again would
    double it.
    """
    bos = getattr(tokenizer, "bos_token", None)
    return not (bos and text.startswith(bos))


def stop_token_ids(model: Any, tokenizer: Any) -> list[int]:
    """EOS ids from the tokenizer and the generation config (chat models add theirs)."""
    ids: set[int] = set()
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    configured = getattr(
        getattr(model, "generation_config", None), "eos_token_id", None
    )
    if isinstance(configured, int):
        ids.add(configured)
    elif configured:
        ids.update(int(i) for i in configured)
    return sorted(ids)
