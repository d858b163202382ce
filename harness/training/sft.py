"""Supervised fine-tuning with the transformers ``Trainer``.

Using the stock ``Trainer`` keeps accelerate, FSDP and DeepSpeed configurations
usable on real models later. What this module adds: response-only labels
(:mod:`harness.training.examples`), deterministic seeds, optional LoRA (merged
back after training) and bf16 autocast.

Freezing (paper §4.1, SPPFT) is the caller's business: call
:func:`harness.training.freeze.freeze_layers` on the model before
:func:`train_sft`; the Trainer then only optimizes trainable parameters, and
:func:`~harness.training.freeze.frozen_params_guard` proves the rest stayed put.
The one exception is ``SFTConfig.train_band``, which trains a band alone
(:func:`~harness.training.freeze.train_only_band`) and adds the guard itself.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, MissingDependencyError
from harness.layers import LayerRange
from harness.precision import autocast_bf16
from harness.progress import progress_bar
from harness.prompts import PromptFormatter
from harness.training.examples import (
    PadCollator,
    SFTExample,
    TokenizedExample,
    tokenize_examples,
)
from harness.training.freeze import frozen_params_guard, train_only_band

LORA_TARGETS = (
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
)


@dataclass(frozen=True)
class SFTConfig:
    """Hyperparameters of one supervised fine-tuning run.

    ``lora_rank`` 0 means full fine-tuning; ``dtype`` ``bfloat16`` trains fp32
    weights under bf16 autocast, ``auto`` does so only where the hardware runs
    bf16 natively (:func:`harness.precision.autocast_bf16`);
    ``group_by_length`` batches examples of similar length together (less
    padding, so fewer tokens per step); ``train_band`` (0-based, inclusive
    decoder blocks) trains only those blocks' attention and MLP and freezes
    everything else, norms, embeddings and LM head included.
    """

    steps: int
    batch_size: int = 8
    learning_rate: float = 3e-5
    warmup_steps: int = 0
    max_length: int = 160
    weight_decay: float = 0.0
    lr_scheduler: str = "linear"
    lora_rank: int = 0
    lora_alpha: int = 32
    lora_targets: tuple[str, ...] = LORA_TARGETS
    #: Decoder blocks that get LoRA adapters (``None``: all); SPPFT's LoRA
    #: mode leaves the safety layers out (PEFT ``layers_to_transform``).
    lora_layers: tuple[int, ...] | None = None
    dtype: str = "auto"
    group_by_length: bool = False
    seed: int = 0
    logging_steps: int = 10
    train_band: LayerRange | None = None


@dataclass
class SFTResult:
    """The trained model and what training measured."""

    model: Any
    steps: int
    seconds: float
    examples: int
    losses: list[float] = field(default_factory=list)

    @property
    def seconds_per_step(self) -> float:
        return self.seconds / self.steps if self.steps else 0.0


class _ListDataset:
    """A map-style dataset over tokenized examples, as feature dicts."""

    def __init__(self, items: Sequence[TokenizedExample]) -> None:
        self._items = [item.features() for item in items]

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        return self._items[index]


def train_sft(
    model: Any,
    tokenizer: Any,
    examples: Sequence[SFTExample],
    config: SFTConfig,
    *,
    callbacks: Sequence[Any] = (),
    checkpoint_dir: str | Path | None = None,
    save_steps: int = 0,
    resume: bool = False,
) -> SFTResult:
    """Fine-tune ``model`` on ``examples`` and return it (LoRA merged back).

    Args:
        model: A causal LM; parameters with ``requires_grad=False`` stay frozen.
        tokenizer: Its tokenizer; the chat template (or Alpaca) formats prompts.
        examples: Instruction/response pairs; the loss covers responses only.
        config: Hyperparameters.
        callbacks: Extra ``TrainerCallback`` objects (a frozen-weights guard).
        checkpoint_dir: Keep Trainer checkpoints here (default: a temporary
            directory, deleted after training).
        save_steps: Write a checkpoint every this many steps (0: none).
        resume: Continue from the last checkpoint in ``checkpoint_dir``, if any.
    """
    from transformers import Trainer, set_seed

    set_seed(config.seed)
    tokenized = tokenize_examples(
        PromptFormatter(tokenizer), examples, config.max_length
    )
    callbacks = [*_band_guard(model, config), *callbacks]
    trained = with_lora(model, config) if config.lora_rank else model
    with _output_dir(checkpoint_dir) as scratch:
        trainer = Trainer(
            model=trained,
            args=_arguments(config, scratch, save_steps),
            train_dataset=_ListDataset(tokenized),  # type: ignore[arg-type]
            data_collator=PadCollator(_pad_id(tokenizer)),
            callbacks=[_progress_callback(config.steps), *callbacks],
        )
        started = time.perf_counter()
        output = trainer.train(resume_from_checkpoint=_last(scratch, resume))
        seconds = time.perf_counter() - started
    losses = [float(e["loss"]) for e in trainer.state.log_history if "loss" in e]
    final = trained.merge_and_unload() if config.lora_rank else trained
    final.eval()
    return SFTResult(final, int(output.global_step), seconds, len(tokenized), losses)


def _band_guard(model: Any, config: SFTConfig) -> list[Any]:
    """Leave only ``config.train_band`` trainable; a guard proves the rest stayed."""
    if config.train_band is None:
        return []
    if config.lora_rank:
        raise ConfigError(
            "train_band trains the band's full weights; it cannot be combined "
            "with LoRA (lora_rank > 0; use lora_layers instead)"
        )

    train_only_band(model, *config.train_band)
    return [frozen_params_guard(model)]


@contextmanager
def _output_dir(checkpoint_dir: str | Path | None) -> Iterator[str]:
    if checkpoint_dir is not None:
        Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
        yield str(checkpoint_dir)
        return
    with tempfile.TemporaryDirectory(prefix="harness-sft-") as scratch:
        yield scratch


def _last(output_dir: str, resume: bool) -> str | None:
    """The newest Trainer checkpoint to resume from (``None``: start afresh)."""
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(output_dir) if resume else None


def _pad_id(tokenizer: Any) -> int:
    pad = tokenizer.pad_token_id
    return int(pad if pad is not None else tokenizer.eos_token_id)


def _arguments(config: SFTConfig, output_dir: str, save_steps: int = 0) -> Any:
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=output_dir,
        max_steps=config.steps,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup_steps,
        weight_decay=config.weight_decay,
        lr_scheduler_type=config.lr_scheduler,
        bf16=autocast_bf16(config.dtype, "cuda" if _cuda() else "cpu"),
        seed=config.seed,
        data_seed=config.seed,
        logging_steps=config.logging_steps,
        save_strategy="steps" if save_steps else "no",
        save_steps=save_steps or 500,
        save_total_limit=2 if save_steps else None,
        report_to="none",
        remove_unused_columns=False,
        dataloader_num_workers=0,
        train_sampling_strategy="group_by_length"
        if config.group_by_length
        else "random",
        disable_tqdm=True,  # progress goes through harness.progress instead
        use_cpu=not _cuda(),
    )


def _progress_callback(steps: int) -> Any:
    """A callback that shows training steps as a harness progress bar or lines."""
    from contextlib import ExitStack

    from transformers import TrainerCallback

    class ProgressCallback(TrainerCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            self._stack = ExitStack()
            self._advance: Any = None

        def on_train_begin(self, *args: Any, **kwargs: Any) -> None:
            bar = progress_bar(steps, "training")
            self._advance = self._stack.enter_context(bar)

        def on_step_end(self, *args: Any, **kwargs: Any) -> None:
            if self._advance is not None:
                self._advance(1)

        def on_train_end(self, *args: Any, **kwargs: Any) -> None:
            self._stack.close()

    return ProgressCallback()


def _cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def with_lora(model: Any, config: SFTConfig) -> Any:
    """``model`` wrapped in PEFT LoRA adapters as ``config`` describes them."""
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError as e:
        raise MissingDependencyError("peft") from e
    lora = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=0.0,
        target_modules=list(config.lora_targets),
        layers_to_transform=list(config.lora_layers) if config.lora_layers else None,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora)
