"""The course's own tokenizer for MedDr-mini: byte-level BPE trained on the course's text.

Byte-pair encoding (as in GPT-2) starts from the 256 byte values, so any text can be
encoded and decoded exactly, and merges the most frequent adjacent pairs until the
vocabulary is full: frequent medical words ("malignant", "margin") become single tokens,
rare ones fall apart into pieces. Training uses Hugging Face's ``tokenizers`` library, the
well-kept implementation behind most open language models.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

SPECIAL_TOKENS = ("<pad>", "<unk>", "<bos>", "<eos>")


class CourseTokenizer:
    """Byte-level BPE: ``fit(texts)``, then ``encode(text)`` -> ids, ``decode(ids)`` -> text.

    Ids 0-3 are ``<pad>``, ``<unk>``, ``<bos>``, ``<eos>``.
    """

    def __init__(self, vocab_size: int = 768):
        if vocab_size < 256 + len(SPECIAL_TOKENS):
            raise ValueError(f"vocab_size must be at least 260 (the bytes), got {vocab_size}")
        self.requested_size = vocab_size
        self._tokenizer: Tokenizer | None = None

    def fit(self, texts: Iterable[str]) -> CourseTokenizer:
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=self.requested_size,
            special_tokens=list(SPECIAL_TOKENS),
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tokenizer.train_from_iterator(list(texts), trainer=trainer)
        self._tokenizer = tokenizer
        return self

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            raise RuntimeError("fit the tokenizer on some text first")
        return self._tokenizer

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    pad_id, unk_id, bos_id, eos_id = range(4)

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text).ids

    def decode(self, ids: Iterable[int]) -> str:
        return self.tokenizer.decode([int(i) for i in ids], skip_special_tokens=True)

    def tokens(self, text: str) -> list[str]:
        """The pieces ``text`` is cut into (byte-level: a leading space shows as 'Ġ')."""
        return self.tokenizer.encode(text).tokens

    # ------------------------------------------------------------------- saving

    def to_json(self) -> str:
        return self.tokenizer.to_str()

    @classmethod
    def from_json(cls, text: str) -> CourseTokenizer:
        tokenizer = Tokenizer.from_str(text)
        out = cls(tokenizer.get_vocab_size())
        out._tokenizer = tokenizer
        return out

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.to_json(), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> CourseTokenizer:
        try:
            return cls.from_json(Path(path).read_text(encoding="utf-8"))
        except Exception as err:  # tokenizers raises its own exception types
            raise ValueError(f"{path} is not a saved CourseTokenizer: {err}") from err

    def to_transformers(self):
        """The same tokenizer as a ``transformers.PreTrainedTokenizerFast``."""
        from transformers import PreTrainedTokenizerFast

        return PreTrainedTokenizerFast(
            tokenizer_object=self.tokenizer,
            pad_token="<pad>",
            unk_token="<unk>",
            bos_token="<bos>",
            eos_token="<eos>",
        )
