"""A tiny random-weight CTranslate2 Whisper model folder, made in a test's folder.

It recognises nothing sensible; it lets the tests run faster-whisper's real loading and
decoding code (word timestamps included) without any model download. Needs ctranslate2 and
tokenizers (both installed with faster-whisper).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SPECIAL = [
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|en|>",
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nocaptions|>",
    "<|notimestamps|>",
]


def _byte_symbols() -> list[str]:
    """GPT-2's byte-to-character table (Whisper's byte-level BPE alphabet)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    printable += range(ord("®"), ord("ÿ") + 1)
    chars, extra = list(printable), 0
    for byte in range(256):
        if byte not in printable:
            chars.append(256 + extra)
            extra += 1
    return [chr(c) for c in chars]


def make_tiny_whisper(folder: Path, d_model: int = 64, seed: int = 0) -> Path:
    """Write ``model.bin``, ``config.json``, ``vocabulary.json`` and ``tokenizer.json``."""
    from ctranslate2.specs import whisper_spec
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    folder.mkdir(parents=True, exist_ok=True)
    stamps = [f"<|{0.02 * i:.2f}|>" for i in range(1501)]  # Whisper's 0-30 s timestamps
    tokens = _byte_symbols() + SPECIAL + stamps
    tokenizer = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([AddedToken(t, special=True) for t in SPECIAL + stamps])
    tokenizer.save(str(folder / "tokenizer.json"))

    rng = np.random.default_rng(seed)
    d, ffn = d_model, 2 * d_model

    def rand(*shape):
        return (0.2 * rng.standard_normal(shape)).astype(np.float32)

    def norm(spec):
        spec.gamma, spec.beta = np.ones(d, np.float32), np.zeros(d, np.float32)

    def linear(spec, n_out, n_in):
        spec.weight, spec.bias = rand(n_out, n_in), rand(n_out)

    def block(layer, cross: bool):
        norm(layer.self_attention.layer_norm)
        linear(layer.self_attention.linear[0], 3 * d, d)  # fused query, key, value
        linear(layer.self_attention.linear[1], d, d)
        if cross:
            norm(layer.attention.layer_norm)
            linear(layer.attention.linear[0], d, d)
            linear(layer.attention.linear[1], 2 * d, d)  # fused key, value
            linear(layer.attention.linear[2], d, d)
        norm(layer.ffn.layer_norm)
        linear(layer.ffn.linear_0, ffn, d)
        linear(layer.ffn.linear_1, d, ffn)

    spec = whisper_spec.WhisperSpec(1, 2, 1, 2)
    encoder, decoder = spec.encoder, spec.decoder
    encoder.conv1.weight, encoder.conv1.bias = rand(d, 80, 3), rand(d)
    encoder.conv2.weight, encoder.conv2.bias = rand(d, d, 3), rand(d)
    encoder.position_encodings.encodings = rand(1500, d)
    norm(encoder.layer_norm)
    block(encoder.layer[0], cross=False)
    decoder.embeddings.weight = rand(len(tokens), d)
    decoder.position_encodings.encodings = rand(448, d)
    norm(decoder.layer_norm)
    decoder.projection.weight = rand(len(tokens), d)
    block(decoder.layer[0], cross=True)
    spec.config.suppress_ids = []
    spec.config.suppress_ids_begin = []
    spec.config.lang_ids = []
    spec.config.alignment_heads = [(0, 0), (0, 1)]
    spec.register_vocabulary(tokens)
    spec.validate()
    spec.save(str(folder))
    return folder
