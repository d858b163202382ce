"""Self-distillation: a model's own greedy answers become its benign training targets.

Training smol-aligned on smol-base's answers to benign instructions teaches
when to refuse without teaching anything new about how to answer.
Answers come from the harness's own HF backend and chat template, the same
decoding the suites use; a cut-off answer is trimmed to its last full
sentence so the model never learns to stop mid-word.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path

from harness import backends
from harness.checkpoint import LoadOptions
from harness.io import write_json_atomic
from harness.progress import progress_bar
from harness.prompts import PromptFormatter

#: Pinned, never ``auto``: the training data must not depend on the CPU kind.
DISTILL_DTYPE = "float32"

# A sentence ends at . ! or ? before a space (not "2." in a numbered list), or
# at a line break.
_SENTENCE_END = re.compile(r"(?<!\d)[.!?](?=\s|$)|\n")


def trim_to_sentence(text: str, min_chars: int = 20) -> str:
    """Cut ``text`` after its last sentence end; keep it whole when none is found."""
    text = text.strip()
    ends = [
        m.end() if m.group() != "\n" else m.start()
        for m in _SENTENCE_END.finditer(text)
    ]
    ends = [e for e in ends if e >= min_chars]
    return text[: ends[-1]].strip() if ends else text


def distill_answers(
    model_dir: Path,
    prompts: Sequence[str],
    *,
    max_new_tokens: int,
    cache_dir: Path | None = None,
    batch_size: int = 16,
    dtype: str = DISTILL_DTYPE,
) -> list[str]:
    """Return the greedy chat-template answers of the model at ``model_dir``.

    ``dtype`` is pinned (not ``auto``) so the training data does not depend on
    the building CPU: fp32 runs fast on every CPU kind, bf16 only on those with
    native bf16. With
    ``cache_dir``, answers are kept under a digest of the model directory's name
    (which holds its recipe key), the prompts and the settings: the two attack fine-
    tunes share one generation pass.
    """
    settings = [model_dir.name, list(prompts), max_new_tokens, dtype]
    digest = hashlib.sha256(json.dumps(settings).encode()).hexdigest()[:24]
    cached = cache_dir / f"{digest}.json" if cache_dir else None
    if cached is not None and cached.is_file():
        return [str(a) for a in json.loads(cached.read_text(encoding="utf-8"))]
    answers = _generate(model_dir, prompts, max_new_tokens, batch_size, dtype)
    if cached is not None:
        write_json_atomic(cached, answers)
    return answers


def _generate(
    model_dir: Path,
    prompts: Sequence[str],
    max_new_tokens: int,
    batch_size: int,
    dtype: str,
) -> list[str]:
    spec = backends.BackendSpec(
        LoadOptions(device="cpu", dtype=dtype), batch_size=batch_size
    )
    backend = backends.create_backend("hf", str(model_dir), spec)
    try:
        formatted = PromptFormatter(backend.tokenizer).prompts(prompts)
        with progress_bar(len(prompts), "distilling answers") as advance:
            raw = backend.generate(
                formatted, max_new_tokens=max_new_tokens, advance=advance
            )
        lengths = [len(backend.tokenizer(a)["input_ids"]) for a in raw]
    finally:
        backend.close()
    # Only answers that ran into the token limit were cut off.
    return [
        trim_to_sentence(a) if n >= max_new_tokens - 2 else a
        for a, n in zip(raw, lengths, strict=True)
    ]
