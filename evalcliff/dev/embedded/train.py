"""Train the embedded tiny model on the project's own suite generators.

    python -m evalcliff.dev.embedded.train --minutes 40 --device cpu --out evalcliff/embedded/model

Training prompts come from the same generators as the evaluation suites but from a
disjoint seed stream and a wider parameter range; any training prompt whose hash equals
an evaluation item's prompt hash is dropped, and the script asserts the two sets are
disjoint. `make report` never trains: it loads the committed weights.

Loss: next-token cross-entropy on every token, with answer tokens weighted `--answer-weight`
times (the generators' reference completions). Sequences are packed to `--seq-len` tokens.
Checkpoints every few minutes so a run can continue with `--resume`.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from random import Random
from typing import Any

from evalcliff.embedded import MODEL_DIR
from evalcliff.suites.build import build_items, stratum_rng
from evalcliff.suites.generators import get_generator
from evalcliff.suites.items import prompt_hash
from evalcliff.suites.spec import SUITES_DIR, load_suite

EVAL_SUITES = ["smoke"]

# Training distribution per slice: generator and a sampler of its params (wider than eval).
LANGS = ["en", "ar_EG", "hi", "bn", "th", "km", "lo", "my", "bo", "te", "fa", "gu", "pa", "ta"]


# Examples are drawn so that each kind gets roughly this share of training *tokens*:
# a key-value haystack is ~390 characters, the other examples 15-50, so per-example weights
# of equal size would spend 80% of the compute on haystacks (session 1's mistake).
# Retrieval is learnt last and needs the most (session 2 probe at 25 min: every slice but
# long_context was learnt, and that one sat at 0%), so it gets the largest share.
TOKEN_SHARE = {"head": 0.18, "kv": 0.45, "digits": 0.07, "arith": 0.20, "code": 0.10}
MEAN_CHARS = {"head": 17.0, "kv": 264.0, "digits": 19.0, "arith": 30.0, "code": 51.0}
# Haystack lengths in characters: short ones are oversampled (a curriculum without a
# schedule): with few pairs the key-matching mechanism gets a strong signal early, and the
# long ones teach it to work at the evaluation lengths (128-512).
KV_LENGTHS = [32, 48, 64, 96, 128, 160, 192, 256, 320, 384, 448, 512, 576]
KV_LENGTH_WEIGHTS = [4, 4, 4, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1]


def _train_params(rng: Random) -> tuple[str, dict[str, Any]]:
    kinds = list(TOKEN_SHARE)
    weights = [TOKEN_SHARE[k] / MEAN_CHARS[k] for k in kinds]
    kind = rng.choices(kinds, weights=weights)[0]
    if kind == "head":
        return "head", {"task": rng.choice(["succ", "copy", "rev", "add"])}
    if kind == "kv":
        length = rng.choices(KV_LENGTHS, weights=KV_LENGTH_WEIGHTS)[0]
        # keys of 1-3 letters make the lookup a one- or few-token match (an induction head),
        # the step before the evaluation's 4-letter keys
        key_len = rng.choices([1, 2, 3, 4], weights=[0.25, 0.25, 0.15, 0.35])[0]
        params = {"len": length, "depth": rng.random(), "questions": 8, "key_len": key_len}
        return "kv_retrieval", params
    if kind == "digits":
        return "native_digits", {"lang": rng.choice(LANGS), "min_digits": 1, "max_digits": 7}
    if kind == "arith":
        return "chained_arith", {"hops": rng.randint(1, 7)}
    return "arith_function", {"ops": rng.randint(1, 3)}


def eval_prompt_hashes() -> set[str]:
    """Prompt hashes of every item of the built-in evaluation suites."""
    hashes: set[str] = set()
    for name in EVAL_SUITES:
        hashes |= {
            it.prompt_hash for it in build_items(load_suite(str(SUITES_DIR / f"{name}.yaml")))
        }
    return hashes


def training_texts(seed: int, banned: set[str]) -> Iterator[list[tuple[str, bool]]]:
    """Endless training examples as (segment, is_answer) lists.

    A plain example is `prompt + ' ' + completion + '\\n'`. Key-value haystacks are asked
    several questions in a row (`find k1 = v1\\nfind k2 = v2\\n...`): each question's prefix
    is exactly an evaluation-style prompt, and the haystack's tokens are paid for once.
    """
    rng = Random(f"train|{seed}")
    k = 0
    while True:
        gen_name, params = _train_params(rng)
        sub = stratum_rng(f"train{seed}", gen_name, str(k))
        k += 1
        samples = get_generator(gen_name)(sub, params)
        if gen_name == "kv_retrieval":
            context = samples[0].prompt.rsplit("find ", 1)[0]
            segs: list[tuple[str, bool]] = [(context, False)]
            for s in samples:
                if prompt_hash(s.prompt) in banned:
                    continue
                key = s.prompt.rsplit("find ", 1)[1]
                segs += [(f"find {key}", False), (f" {s.completion}\n", True)]
            yield segs
            continue
        for s in samples:
            if prompt_hash(s.prompt) in banned:
                continue
            yield [(s.prompt, False), (f" {s.completion}\n", True)]


def probe(model: Any, tok: Any, device: str, per_slice: int = 8) -> dict[str, float]:
    """Greedy exact-match on a few smoke items per slice (progress signal only)."""
    import torch

    model.eval()
    items = build_items(load_suite(str(SUITES_DIR / "smoke.yaml")))
    rng = Random(0)
    acc: dict[str, float] = {}
    for sl in sorted({it.slice for it in items}):
        pool = [it for it in items if it.slice == sl]
        hits = 0
        for it in rng.sample(pool, per_slice):
            ids = torch.tensor([tok.encode(it.prompt, add_special_tokens=False)], device=device)
            with torch.no_grad():
                out = model.generate(
                    ids, max_new_tokens=28, do_sample=False, pad_token_id=tok.eos_token_id
                )
            text = tok.decode(out[0, ids.shape[1] :]).split("\n")[0].strip()
            hits += text == str(it.meta["completion"])
        acc[sl] = round(hits / per_slice, 2)
    return acc


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, default=MODEL_DIR)
    ap.add_argument("--minutes", type=float, default=30.0, help="wall-clock training budget")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seq-len", type=int, default=640)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--answer-weight", type=float, default=4.0)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--intermediate", type=int, default=512)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = all cores)")
    ap.add_argument("--ckpt-every", type=float, default=300.0, help="seconds between checkpoints")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/../train_ckpt.pt")
    ap.add_argument(
        "--warm-start",
        action="store_true",
        help="load the weights (not optimizer or schedule) of OUT/../train_ckpt.pt and start a "
        "new schedule; the earlier steps and tokens are kept in training.json as 'prior'",
    )
    ap.add_argument(
        "--export-only", action="store_true", help="with --resume: save the checkpoint, no steps"
    )
    args = ap.parse_args(argv)

    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from evalcliff.embedded.tokenizer import train_tokenizer

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    banned = eval_prompt_hashes()
    out: Path = args.out
    ckpt_path = out.parent / "train_ckpt.pt"

    if not (out / "tokenizer.json").exists():
        sample = training_texts(args.seed + 1, banned)
        train_tokenizer(("".join(t for t, _ in next(sample)) for _ in range(30_000)), out)
    tok = AutoTokenizer.from_pretrained(out)

    cfg_kwargs: dict[str, Any] = dict(
        vocab_size=len(tok),
        hidden_size=args.hidden,
        intermediate_size=args.intermediate,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.heads,
        max_position_embeddings=1024,
        rope_theta=10000.0,
        tie_word_embeddings=False,
        bos_token_id=tok.eos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.eos_token_id,
    )
    cfg = LlamaConfig(**cfg_kwargs)
    model = LlamaForCausalLM(cfg).to(args.device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    state: dict[str, Any] = {"step": 0, "tokens": 0, "elapsed": 0.0, "log": []}
    if args.resume and ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location=args.device, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        state = ck["state"]
    elif args.warm_start:
        ck = torch.load(ckpt_path, map_location=args.device, weights_only=False)
        model.load_state_dict(ck["model"])
        old = ck["state"]
        prior = old.get("prior", []) + [
            {
                "steps": old["step"],
                "tokens": old["tokens"],
                "minutes": round(old["elapsed"] / 60, 1),
                "args": old.get("args", {}),
            }
        ]
        state = {"step": 0, "tokens": 0, "elapsed": 0.0, "log": [], "prior": prior}
    state["args"] = {k: str(v) for k, v in vars(args).items()}
    n_params = sum(p.numel() for p in model.parameters())
    print(f"params {n_params / 1e6:.2f}M vocab {len(tok)} device {args.device}", flush=True)

    segment = len(state.get("prior", []))
    texts = training_texts(args.seed + 1000 * (1 + state["step"]) + 7919 * segment, banned)
    eos = tok.eos_token_id

    def batch() -> tuple[torch.Tensor, torch.Tensor]:
        ids = torch.full((args.batch, args.seq_len + 1), eos, dtype=torch.long)
        w = torch.zeros((args.batch, args.seq_len + 1))
        for b in range(args.batch):
            row: list[int] = []
            wt: list[float] = []
            while len(row) < args.seq_len + 1:
                row.append(eos)
                wt.append(0.0)
                for text, is_answer in next(texts):
                    t = tok.encode(text, add_special_tokens=False)
                    row += t
                    wt += [args.answer_weight if is_answer else 1.0] * len(t)
            ids[b] = torch.tensor(row[: args.seq_len + 1])
            w[b] = torch.tensor(wt[: args.seq_len + 1])
        return ids, w

    budget = args.minutes * 60
    t0 = time.time() - state["elapsed"]
    last_ckpt = time.time()
    model.train()
    while time.time() - t0 < budget and not args.export_only:
        ids, w = batch()
        ids, w = ids.to(args.device), w.to(args.device)
        # cosine schedule over the wall-clock budget, 2% warmup
        frac = (time.time() - t0) / budget
        lr = args.lr * min(1.0, frac / 0.02) * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0)))
        for g in opt.param_groups:
            g["lr"] = max(lr, args.lr * 0.02)
        logits = model(input_ids=ids[:, :-1]).logits
        ce = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.size(-1)).float(), ids[:, 1:].reshape(-1), reduction="none"
        )
        weights = w[:, 1:].reshape(-1)
        loss = (ce * weights).sum() / weights.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        state["step"] += 1
        state["tokens"] += ids[:, :-1].numel()
        if state["step"] % 25 == 0:
            el = time.time() - t0
            ans_mask = weights > 1
            ans_loss = (ce[ans_mask]).mean().item() if ans_mask.any() else float("nan")
            rec = {
                "step": state["step"],
                "min": round(el / 60, 2),
                "loss": round(loss.item(), 4),
                "answer_loss": round(ans_loss, 4),
                "tokens": state["tokens"],
                "lr": lr,
            }
            state["log"].append(rec)
            print(json.dumps(rec), flush=True)
        if time.time() - last_ckpt > args.ckpt_every:
            print(
                json.dumps({"step": state["step"], "probe": probe(model, tok, args.device)}),
                flush=True,
            )
            model.train()
            state["elapsed"] = time.time() - t0
            torch.save(
                {"model": model.state_dict(), "opt": opt.state_dict(), "state": state}, ckpt_path
            )
            last_ckpt = time.time()
    state["elapsed"] = time.time() - t0
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "state": state}, ckpt_path)
    model.eval()
    model.to("cpu").to(torch.float16).save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    (out / "training.json").write_text(
        json.dumps(
            {
                "device": args.device,
                "device_name": torch.cuda.get_device_name()
                if args.device.startswith("cuda")
                else "cpu",
                "threads": torch.get_num_threads(),
                "minutes": round(state["elapsed"] / 60, 1),
                "steps": state["step"],
                "tokens": state["tokens"],
                "params": n_params,
                "args": {k: str(v) for k, v in vars(args).items()},
                "config": cfg.to_dict(),
                "eval_prompts_banned": len(banned),
                "prior_segments": state.get("prior", []),
                "token_share": TOKEN_SHARE,
                "log_tail": state["log"][-20:],
            },
            indent=2,
            default=str,
        )
    )
    print(
        f"saved {out} after {state['step']} steps, {state['tokens'] / 1e6:.1f}M tokens", flush=True
    )


if __name__ == "__main__":
    main()
