"""Write the embedded model's card from its training record and a full-precision run.

    python -m evalcliff.dev.embedded.card --results reports/runs/smoke/fp16.parquet

Accuracy per slice and per stratum carries a 95% Wilson interval.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from evalcliff.embedded import MODEL_DIR
from evalcliff.results import read_header, read_results
from evalcliff.stats.intervals import wilson


def accuracy_table(df: pd.DataFrame, by: list[str]) -> str:
    """Markdown table of accuracy (with Wilson CI) and catastrophic rate grouped by `by`."""
    lines = [
        "| " + " | ".join(by) + " | n | accuracy % | 95% CI | catastrophic % |",
        "|" + "---|" * (len(by) + 4),
    ]
    for key, g in df.groupby(by, sort=False):
        keys = key if isinstance(key, tuple) else (key,)
        k, n = int(g["correct"].sum()), len(g)
        lo, hi = wilson(k, n)
        lines.append(
            "| "
            + " | ".join(str(x) for x in keys)
            + f" | {n} | {100 * k / n:.1f} | [{100 * lo:.1f}, {100 * hi:.1f}]"
            f" | {100 * g['catastrophic'].mean():.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--results", type=Path, required=True, help="fp16 results on smoke")
    ap.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    args = ap.parse_args(argv)
    training = json.loads((args.model_dir / "training.json").read_text())
    config = json.loads((args.model_dir / "config.json").read_text())
    df = read_results(args.results)
    header = read_header(args.results)
    if header is None:
        raise SystemExit(f"{args.results}: no run header (write it with evalcliff run/report)")
    size_mb = (args.model_dir / "model.safetensors").stat().st_size / 2**20
    prior = training.get("prior_segments") or []
    total_min = training["minutes"] + sum(float(p.get("minutes", 0)) for p in prior)
    total_steps = training["steps"] + sum(int(p.get("steps", 0)) for p in prior)
    total_tokens = training["tokens"] + sum(int(p.get("tokens", 0)) for p in prior)
    history = ""
    if prior:
        history = (
            f"- Warm start: the last segment began from the weights of {len(prior)} earlier"
            f" training run(s) ({sum(int(p.get('steps', 0)) for p in prior)} steps,"
            f" {sum(int(p.get('tokens', 0)) for p in prior) / 1e6:.1f}M tokens,"
            f" {sum(float(p.get('minutes', 0)) for p in prior):.0f} min) with a fresh"
            " optimizer and schedule (`--warm-start`). In total: "
            f"{total_min:.0f} min, {total_steps} steps, {total_tokens / 1e6:.1f}M tokens.\n"
        )
    notes_path = args.model_dir / "TRAINING_NOTES.md"
    notes = notes_path.read_text().strip() + "\n" if notes_path.exists() else ""
    share = training.get("token_share")
    mixture = (
        "- Mixture (share of training tokens per task kind): "
        + ", ".join(f"{k} {v:.0%}" for k, v in share.items())
        + "\n"
        if share
        else ""
    )
    card = f"""# evalcliff embedded model

A tiny Llama-architecture causal LM that exists so evalcliff runs real inference end to end
on a CPU with nothing downloaded. It is not a useful language model: it knows only the
synthetic tasks of evalcliff's own suite generators.

## Architecture
- Llama (`LlamaForCausalLM`): hidden {config["hidden_size"]},
  {config["num_hidden_layers"]} layers, {config["num_attention_heads"]} heads,
  MLP {config["intermediate_size"]}, vocab {config["vocab_size"]}, untied `lm_head`, RoPE,
  context {config["max_position_embeddings"]}.
- {training["params"] / 1e6:.2f}M parameters; weights stored in fp16 safetensors
  ({size_mb:.1f} MB).
- Tokenizer: character-level (each character one token, bytes as fallback), built with the
  `tokenizers` library by `evalcliff/embedded/tokenizer.py`.

## Training
- Script: `python -m evalcliff.dev.embedded.train` (arguments below); data generated on the fly
  by the suite generators with a training seed stream and a wider parameter range than the
  evaluation suites. {training["eval_prompts_banned"]} evaluation prompts were banned by
  prompt hash, so no evaluation prompt was trained on (the script asserts it by filtering).
- Device: {training["device_name"]} ({training["threads"]} threads); last segment: wall time
  {training["minutes"]} min; {training["steps"]} steps; {training["tokens"] / 1e6:.1f}M tokens.
{history}{mixture}
- Loss: next-token cross-entropy on every token, answer tokens weighted
  {training["args"].get("answer_weight")}×; AdamW, peak lr {training["args"].get("lr")},
  cosine over the time budget; packed sequences of {training["args"].get("seq_len")} tokens,
  batch {training["args"].get("batch")}.
- Arguments: `{json.dumps(training["args"])}`

{notes}
## Full-precision accuracy on `smoke`
Variant `fp16` (stored weights, fp32 compute, greedy), suite `{header.suite.name}`
content hash `{header.suite.content_hash}`, evalcliff
{header.packages.get("evalcliff")}. Intervals are 95% Wilson.

### Per slice
{accuracy_table(df, ["slice"])}

### Per stratum
{accuracy_table(df, ["slice", "stratum"])}

Reproduce: `make report BASE=fp16 CAND=fp16`, then
`python -m evalcliff.dev.embedded.card --results reports/runs/smoke/fp16.parquet`.
"""
    (args.model_dir / "MODEL_CARD.md").write_text(card)
    print(card)


if __name__ == "__main__":
    main()
