"""The embedded default: a tiny Llama-architecture model shipped in the package.

`MODEL_DIR` holds the Hugging Face checkpoint (fp16 safetensors, tokenizer, model card).
Its quantized variants are built on demand by `evalcliff.embedded.variants`.
"""

from pathlib import Path

MODEL_DIR = Path(__file__).resolve().parent / "model"
