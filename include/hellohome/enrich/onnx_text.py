"""The sentence-transformers text model run by ONNX Runtime: exported once from the torch model
(which stays the reference), optionally with int8 weights.

Measured on this 2-core box (`python -m bench.enrich --only text`, bench/results/enrich.json):
torch and ONNX fp32 give the same vectors; MiniLM on int8 embeds about 1.8x as many texts/s
as torch and a query in 2 ms instead of 13. Quantising every MatMul
dropped the worst cosine to the torch vector to 0.983; the feed-forward output projections carry
the widest activations, and keeping those six fp32 keeps every cosine >= 0.99 for MiniLM (the test
checks it); mpnet's int8 export still fell to 0.96-0.97, so `auto` runs mpnet on ONNX fp32.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

BACKENDS = ("torch", "onnx", "onnx-int8")
FP32_ONLY = "output/dense/MatMul"  # the FFN output projection of every layer (not attention/output)
RECIPE = 1  # part of the exported file's name: a change to the export steps makes a new file


def _export_fp32(model_dir: Path, target: Path) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_dir), device="cpu")
    transformer, names = st[0].auto_model.eval(), list(st.tokenizer.model_input_names)
    sample = st.tokenizer(["a sample listing", "flat"], padding=True, return_tensors="pt")

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = transformer  # a submodule: its weights export as weights

        def forward(self, *inputs):
            return self.transformer(**dict(zip(names, inputs, strict=True))).last_hidden_state

    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "token_embeddings"]}
    with torch.no_grad():
        torch.onnx.export(TokenEmbeddings(), tuple(sample[n] for n in names), str(target), input_names=names,
                          output_names=["token_embeddings"], dynamic_axes=axes, opset_version=17, dynamo=False)


def export(model_dir: Path, target: Path, int8: bool) -> Path:
    """Write the ONNX model once; concurrent callers (gunicorn workers) each write a temp file and
    rename it, so a reader never sees half a model."""
    if target.exists():
        return target
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    target.parent.mkdir(parents=True, exist_ok=True)
    raw, fused, tmp = (target.with_suffix(f".{os.getpid()}.{step}") for step in ("raw", "fused", "tmp"))
    try:
        _export_fp32(model_dir, raw)
        # LayerNorm / GELU fusion: about 1.3x on the fp32 graph, exact
        optimizer.optimize_model(str(raw), model_type="bert", opt_level=1).save_model_to_file(str(fused))
        if int8:
            matmuls = [n.name for n in onnx.load(str(fused)).graph.node if n.op_type == "MatMul"]
            keep = [n for n in matmuls if n.endswith(FP32_ONLY) and "attention" not in n]
            quantize_dynamic(str(fused), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                             nodes_to_exclude=keep, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        else:
            fused.rename(tmp)
        os.replace(tmp, target)
    finally:
        for path in (raw, fused, tmp):
            path.unlink(missing_ok=True)
    return target


def tokenizer(model_dir: Path, max_tokens: int):
    """The model's own fast tokenizer (tokenizer.json) without `transformers`, which pulls in torch
    (measured: a process holding MiniLM 637 MB RSS with them, 140 MB without). The same ids as
    AutoTokenizer(truncation=True, max_length), checked by a test; tokenizer.json carries padding
    and truncation settings of its own: replaced."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_tokens)
    return tok


class OnnxEncoder:
    """Tokenise, run the exported transformer, mean-pool over the tokens, normalise: the same steps
    as the sentence-transformers modules of these models (checked: mean pooling only)."""

    def __init__(self, model_dir: Path, onnx_path: Path, threads: int = 2):
        import onnxruntime as ort

        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
        if not pooling.get("pooling_mode_mean_tokens") or sum(v is True for v in pooling.values()) != 1:
            raise ValueError(f"{model_dir}: the ONNX backend implements mean pooling only, not {pooling}")
        self.dimension = int(pooling["word_embedding_dimension"])
        self.max_tokens = int(json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"])
        self.tokenizer = tokenizer(model_dir, self.max_tokens)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]

    def encode(self, texts: list[str]) -> np.ndarray:
        """One text per run: dynamic int8 quantisation scales activations over the whole input, so
        in a padded batch a text's vector would depend on its neighbours; alone it is deterministic,
        and without padding no slower (measured: 87 texts/s alone, 75 in batches of 8)."""
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            encoding = self.tokenizer.encode(text)
            tokens = {"input_ids": encoding.ids, "attention_mask": encoding.attention_mask,
                      "token_type_ids": encoding.type_ids}
            hidden = self.session.run(None, {n: np.array([tokens[n]], dtype=np.int64) for n in self.inputs})[0][0]
            pooled = hidden.mean(axis=0)  # mean over every token: no padding to mask out
            out[row] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return out
