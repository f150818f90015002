"""Both text models load from their PyPI packages (no hub), give their configured dimension and
unit vectors, and place a paraphrase nearer than an unrelated sentence."""
from __future__ import annotations

import numpy as np
import pytest

from hellohome.enrich.text import MODELS, TextEmbedder, embedding_text


@pytest.mark.parametrize("model", sorted(MODELS))
def test_model_dimension_and_meaning(model, tmp_path):
    embedder = TextEmbedder(model, cache_dir=tmp_path)
    castle, paraphrase, other = embedder.embed(["Flat with a view of Edinburgh Castle",
                                                "apartment overlooking the castle in Edinburgh",
                                                "Cheap parking garage near the airport"])
    assert castle.shape == (MODELS[model][1],) and abs(float(np.linalg.norm(castle)) - 1) < 1e-4
    assert float(castle @ paraphrase) > float(castle @ other) + 0.2


def test_embedding_text_strips_html_and_adds_the_place():
    doc = {"title": "Loft", "description": "Sunny<br />&amp; quiet", "neighbourhood": "Leith", "area": None,
           "city": "Edinburgh"}
    assert embedding_text(doc) == "Loft. Sunny & quiet Leith, Edinburgh"
