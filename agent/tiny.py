"""A tiny randomly initialised Llama with a tokenizer built in code, for fast tests.

Why: the real default model takes seconds to load and generate and needs a one-time GGUF conversion.
Tests of the plumbing (chat template, batching, LoRA, save/load) need none of its knowledge, only
its shapes and interfaces. This model is ~0.5 MB, builds in well under a second with no files and
no hub, and is deterministic given its seed.
"""

from __future__ import annotations

import functools

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from agent.generation import LoadedModel

TINY_MODEL = "tiny-random"
"""The name that `agent.model.load_model` maps to `tiny_model(0)`."""

BOS, EOS, PAD, UNK = "<|im_start|>", "<|im_end|>", "<|pad|>", "<|endoftext|>"
VOCAB_SIZE = 600

# ChatML like SmolLM2's, so prompts built for the real model look the same on the tiny one.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def _corpus() -> list[str]:
    """Short pricing text and digits, so the merges cover the words our prompts actually use."""
    lines = [
        "You are a pricing assistant. Answer with a price.",
        "The unit cost is $1.20 and the current price is $3.50.",
        "Demand elasticity is -1.2; the rival charges $3.25 this week.",
        "What price maximises profit next week? Set the price to $4.10.",
        "We sold 120 units yesterday, 98 units today, revenue went up.",
        "Raise the price, lower the price, or keep the price unchanged.",
        "Inventory, margin, discount, promotion, competitor, season, weekly sales.",
        "system user assistant product store customer budget market share",
    ]
    numbers = [f"{i} {i * 7 % 100}.{i % 10}{(i * 3) % 10} ${i % 13}.{i % 100:02d}" for i in range(200)]
    return lines * 20 + numbers


def build_tokenizer() -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on the built-in corpus (milliseconds) and wrap it for transformers."""
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=[UNK, BOS, EOS, PAD],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD, unk_token=UNK, model_max_length=2048
    )
    wrapped.chat_template = CHAT_TEMPLATE
    wrapped.padding_side = "left"
    return wrapped


def build_tiny_model(seed: int = 0) -> LoadedModel:
    """A fresh (uncached) tiny model: use it when you will modify the weights, e.g. wrap with LoRA."""
    tokenizer = build_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    # A private RNG stream: the caller's global torch RNG state is left as it was.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.eval()
    return LoadedModel(model=model, tokenizer=tokenizer, model_id=f"{TINY_MODEL}-seed{seed}", adapter_id=None,
                       dtype=torch.float32)


@functools.lru_cache(maxsize=8)
def tiny_model(seed: int = 0) -> LoadedModel:
    """The tiny model for `seed`, cached in-process. Shared: deep-copy it (or use
    `build_tiny_model`) before changing its weights."""
    return build_tiny_model(seed)
