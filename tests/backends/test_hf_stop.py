"""`StopStrings` stops at exactly the step lm-eval's own criteria (`stop_sequences_criteria`,
one `MultiTokenEOSCriteria` per stop string) stop, with the embedded model's tokenizer, on
random generations, generations that contain the stop strings, and batches."""

from __future__ import annotations

import random

import pytest
import torch
from lm_eval.models.utils_hf import stop_sequences_criteria
from transformers import AutoTokenizer

from evalcliff.backends.hf_stop import StopStrings, stop_window
from evalcliff.embedded import MODEL_DIR

STOPS = [["\n"], ["\n\n", "Question:"], ["```", "\ndef ", "</s>"], []]


def _step_by_step(criteria: object, prompt: list[list[int]], gen: list[list[int]]) -> int | None:
    """The first generated length at which `criteria` end the generation (None: never)."""
    for t in range(1, len(gen[0]) + 1):
        ids = torch.tensor([p + g[:t] for p, g in zip(prompt, gen, strict=True)])
        out = criteria(ids, None)  # type: ignore[operator]
        done = bool(out.all()) if isinstance(out, torch.Tensor) else bool(out)
        if done:
            return t
    return None


@pytest.mark.parametrize("stops", STOPS)
@pytest.mark.parametrize("batch", [1, 3])
def test_stops_where_lm_eval_stops(stops: list[str], batch: int) -> None:
    tok = AutoTokenizer.from_pretrained(MODEL_DIR)
    rng = random.Random(f"{stops}-{batch}")
    vocab = len(tok)
    pieces = [tok.encode(s, add_special_tokens=False) for s in [*stops, "a", " ", "\n"]]
    # each stop string also spelt a character at a time: more tokens than it encodes to
    pieces += [[i for c in s for i in tok.encode(c, add_special_tokens=False)] for s in stops]
    decoded: dict[tuple[int, ...], str] = {}

    def decode(ids: tuple[int, ...]) -> str:
        if ids not in decoded:
            decoded[ids] = tok.decode(list(ids))
        return decoded[ids]

    window = {s: stop_window(tok, s) for s in stops}
    stopped = 0
    for trial in range(120):
        prompt = [[rng.randrange(vocab) for _ in range(rng.randrange(1, 6))]] * batch
        gen = []
        for _ in range(batch):
            seq: list[int] = []
            while len(seq) < 40:  # random tokens, with stop strings and look-alikes spliced in
                seq += rng.choice(pieces) if rng.random() < 0.15 else [rng.randrange(vocab)]
            gen.append(seq[:40])
        theirs = stop_sequences_criteria(tok, stops, len(prompt[0]), batch)
        assert [c.sequence_id_len for c in theirs] == [window[s] for s in stops]
        ours = transformers_list(StopStrings(stops, len(prompt[0]), batch, window, decode))
        expected = _step_by_step(theirs, prompt, gen)
        assert _step_by_step(ours, prompt, gen) == expected, (trial, prompt, gen)
        stopped += expected is not None
    if stops:
        assert stopped > 20  # the stop strings did occur: the comparison is not vacuous


def transformers_list(criterion: StopStrings) -> object:
    from transformers import StoppingCriteriaList

    return StoppingCriteriaList([criterion])


def test_every_request_type_runs_in_inference_mode_with_hflms_results() -> None:
    """`CachedStopHFLM` computes under `torch.inference_mode` (cheaper than HFLM's `no_grad`)
    and returns exactly what lm-eval's own `HFLM` returns, for all three request types."""
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    from evalcliff.backends.hf_stop import CachedStopHFLM

    kwargs = {"pretrained": str(MODEL_DIR), "dtype": "float32", "batch_size": 1, "device": "cpu"}
    ours, theirs = CachedStopHFLM(**kwargs), HFLM(**kwargs)
    modes: list[bool] = []
    forward = ours.model.forward

    def spy(*args: object, **kw: object) -> object:
        modes.append(torch.is_inference_mode_enabled())
        return forward(*args, **kw)

    ours.model.forward = spy
    prompts = ["succ 33367 =", "Question: what is 2 + 3?\nAnswer:", "def add(a, b):\n"]
    gen = {"until": ["\n"], "max_gen_toks": 10, "do_sample": False}

    def requests(kind: str) -> list[Instance]:
        def args(p: str) -> tuple[object, ...]:
            return {"generate_until": (p, dict(gen)), "loglikelihood": (p, " 5")}.get(kind, (p,))

        return [Instance(kind, {}, args(p), i) for i, p in enumerate(prompts)]

    assert ours.generate_until(requests("generate_until")) == theirs.generate_until(
        requests("generate_until")
    )
    assert ours.loglikelihood(requests("loglikelihood")) == theirs.loglikelihood(
        requests("loglikelihood")
    )
    assert ours.loglikelihood_rolling(requests("loglikelihood_rolling")) == (
        theirs.loglikelihood_rolling(requests("loglikelihood_rolling"))
    )
    assert modes and all(modes), "a forward pass ran outside inference mode"
    assert not torch.is_inference_mode_enabled()
