"""Build tiny random causal LMs with an offline tokenizer (nothing downloaded).

The tokenizer is a byte-level BPE trained in a fraction of a second on a small
built-in corpus, so any text can be encoded. Weights are random: the model
emits noise, which is all a unit test of plumbing needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

_CORPUS = [
    "Below is an instruction that describes a task. Write a response that "
    "appropriately completes the request.",
    "### Instruction: ### Response: How to kill time? How do I bake bread?",
    "I'm sorry, but I can't help with that. Sure, here is how you do it.",
    "The quick brown fox jumps over the lazy dog. 0123456789 !?.,:;'\"()-",
    "user assistant system end",
]


@dataclass(frozen=True)
class TinySpec:
    """Shape of a tiny model."""

    layers: int = 4
    hidden: int = 32
    heads: int = 4
    kv_heads: int = 2
    intermediate: int = 64
    vocab: int = 384
    seed: int = 0
    chat_template: bool = True
    #: ``llama``, ``qwen2`` or any other decoder ``AutoConfig.for_model`` knows.
    architecture: str = "llama"
    #: A directory whose tokenizer (and chat template) the model uses instead
    #: of the tiny BPE one: random weights over a real vocabulary.
    tokenizer_dir: str | None = None


def build_tiny_tokenizer(chat_template: bool = True) -> object:
    """Train a byte-level BPE tokenizer on a tiny corpus and wrap it for HF."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<s>", "</s>", "<|end|>", "<|user|>", "<|assistant|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=384,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        additional_special_tokens=specials[3:],
    )
    if chat_template:
        wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def build_tiny_checkpoint(path: Path | str, spec: TinySpec | None = None) -> Path:
    """Write a tiny random model, its tokenizer and config to ``path``."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    spec = spec or TinySpec()
    path = Path(path)
    if spec.tokenizer_dir is not None:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(spec.tokenizer_dir)
    else:
        tokenizer = build_tiny_tokenizer(spec.chat_template)
    vocab = max(spec.vocab, len(tokenizer))  # type: ignore[arg-type]
    config = AutoConfig.for_model(
        spec.architecture,
        vocab_size=vocab,
        hidden_size=spec.hidden,
        intermediate_size=spec.intermediate,
        num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads,
        num_key_value_heads=spec.kv_heads,
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,  # type: ignore[attr-defined]
        eos_token_id=tokenizer.eos_token_id,  # type: ignore[attr-defined]
        pad_token_id=tokenizer.pad_token_id,  # type: ignore[attr-defined]
        tie_word_embeddings=False,
    )
    torch.manual_seed(spec.seed)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)  # type: ignore[attr-defined]
    return path
