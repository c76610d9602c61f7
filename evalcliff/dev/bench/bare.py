"""The bare engine: a plain `transformers` generate loop over the same prompts as a run.

`python -m evalcliff.dev.bench.bare PROMPTS.jsonl MODEL_DIR OUT.jsonl` reads one JSON object a
line (`prompt`, `max_gen_toks`, `until`), decodes each greedily at batch size 1 with the same
stop strings as lm-eval's HFLM (the slice's `until` plus the EOS text) and writes the outputs.
It imports only json, torch and transformers, so timing the whole process measures the
engine's own cost: imports, model load and generation, no scoring and no bookkeeping.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    """Generate every prompt of argv[0] with the checkpoint argv[1]; outputs to argv[2]."""
    prompts_path, model_dir, out_path = argv[:3]
    import torch
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        StoppingCriteriaList,
        StopStringCriteria,
    )

    torch.set_num_threads(1)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.eval()  # type: ignore[no-untyped-call]
    eos = tok.decode([tok.eos_token_id], skip_special_tokens=False)
    outputs = []
    with open(prompts_path, encoding="utf-8") as f:
        requests = [json.loads(line) for line in f]
    stops: dict[tuple[str, ...], StoppingCriteriaList] = {}  # built once per stop set
    with torch.inference_mode():
        for req in requests:
            until = list(req["until"]) + ([eos] if eos not in req["until"] else [])
            key = tuple(until)
            if key not in stops:
                stops[key] = StoppingCriteriaList([StopStringCriteria(tok, until)])
            ids = tok(req["prompt"], return_tensors="pt", add_special_tokens=False).input_ids
            out = model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=int(req["max_gen_toks"]),
                do_sample=False,
                stopping_criteria=stops[key],
                pad_token_id=tok.pad_token_id,
            )
            text = str(tok.decode(out[0, ids.shape[1] :].tolist()))
            for stop in until:
                if stop:
                    text = text.split(stop)[0]
            outputs.append(text)
    with open(out_path, "w", encoding="utf-8") as f:
        for text in outputs:
            f.write(json.dumps(text) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
