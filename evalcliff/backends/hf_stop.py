"""lm-eval's stop-string rule for `HFLM` generation, with its decodes cached.

lm-eval stops a generation with one `MultiTokenEOSCriteria` per stop string: after every
generated token it decodes the last len(encode(stop)) + 2 generated tokens of each row and
marks the row done once the stop string is in that text; generation ends once every row is
done for one stop string. That decode, once per token and stop string, was most of the
harness's stop-check cost (~0.8 s of CPU on the smoke suite). `StopStrings` applies the same
rule to the same token windows and the same `tokenizer.decode`, but decodes each distinct
window once (windows repeat: "\\n", ". ", code indentation) and encodes each stop string
once per model, so it stops at exactly the step lm-eval's criteria would
(`tests/backends/test_hf_stop.py`). The output is then cut at the first stop string by
lm-eval's `generate_until`, as before.
"""

from __future__ import annotations

from typing import Any

import torch
import transformers
from lm_eval.models.huggingface import HFLM

# Decoded windows kept per model; beyond this the cache starts again (bounded memory).
MAX_CACHED = 200_000


def stop_window(tokenizer: Any, stop: str) -> int:
    """Generated tokens lm-eval looks back over for `stop`: 2 more than it encodes to."""
    return len(tokenizer.encode(stop, add_special_tokens=False)) + 2


class StopStrings(transformers.StoppingCriteria):
    """Every stop string's `MultiTokenEOSCriteria`, evaluated together (same windows, same
    decode, same sticky per-row done flags, same "all rows done for one string" end)."""

    def __init__(
        self,
        stops: list[str],
        initial_length: int,
        batch_size: int,
        window: dict[str, int],
        decode: Any,
    ) -> None:
        self.initial_length = initial_length
        self.stops = [(s, window[s]) for s in stops]
        self.done = [[False] * batch_size for _ in stops]
        self.widest = max((n for _, n in self.stops), default=0)
        self.decode = decode

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        rows = (
            input_ids[:, self.initial_length :][:, -self.widest :].tolist() if self.widest else []
        )
        end = False
        for (stop, n), done in zip(self.stops, self.done, strict=True):
            for i, row in enumerate(rows):
                if not done[i]:
                    done[i] = stop in self.decode(tuple(row[-n:]))
            end = end or False not in done
        return torch.full((input_ids.shape[0],), end, dtype=torch.bool, device=input_ids.device)


class CachedStopHFLM(HFLM):  # type: ignore[misc]
    """lm-eval's `HFLM`, generating with `StopStrings` instead of one decoding criterion per
    stop string, and computing every request type under `torch.inference_mode` (HFLM and
    `generate` use `no_grad`, which still tracks tensor versions and views: 5-6% of the
    embedded model's generate CPU on the smoke suite, the same outputs); everything else is
    `HFLM`'s (its `_model_generate`, less the criteria)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stop_windows: dict[str, int] = {}
        self._decoded: dict[tuple[int, ...], str] = {}

    # Whole request lists run in inference mode, so that no inference tensor (logits, caches)
    # ever meets an in-place op outside it; what they return are strings and floats.
    def generate_until(self, *args: Any, **kwargs: Any) -> Any:
        with torch.inference_mode():
            return super().generate_until(*args, **kwargs)

    def loglikelihood(self, *args: Any, **kwargs: Any) -> Any:
        with torch.inference_mode():
            return super().loglikelihood(*args, **kwargs)

    def loglikelihood_rolling(self, *args: Any, **kwargs: Any) -> Any:
        with torch.inference_mode():
            return super().loglikelihood_rolling(*args, **kwargs)

    def _decode(self, ids: tuple[int, ...]) -> str:
        text = self._decoded.get(ids)
        if text is None:
            if len(self._decoded) >= MAX_CACHED:
                self._decoded.clear()
            text = self._decoded[ids] = self.tokenizer.decode(list(ids))
        return text

    def _window(self, stop: str) -> int:
        n = self._stop_windows.get(stop)
        if n is None:
            n = self._stop_windows[stop] = stop_window(self.tokenizer, stop)
        return n

    def _model_generate(
        self, context: torch.Tensor, max_length: int, stop: list[str], **generation_kwargs: Any
    ) -> torch.Tensor:
        # as HFLM._model_generate: temperature 0 means greedy, without HF's warning
        generation_kwargs["temperature"] = generation_kwargs.get("temperature", 0.0)
        do_sample = generation_kwargs.get("do_sample")
        if (temp := generation_kwargs.get("temperature")) == 0.0 and do_sample is None:
            generation_kwargs["do_sample"] = do_sample = False
        if do_sample is False and temp == 0.0:
            generation_kwargs.pop("temperature", None)
        windows = {s: self._window(s) for s in stop}
        criteria = transformers.StoppingCriteriaList(
            [StopStrings(list(stop), context.shape[1], context.shape[0], windows, self._decode)]
        )
        with torch.autocast(
            device_type=self.device.type,
            dtype=self.mixed_precision_dtype,
            enabled=self.mixed_precision_dtype is not None,
        ):
            out: torch.Tensor = self.model.generate(
                input_ids=context,
                max_length=max_length,
                stopping_criteria=criteria,
                pad_token_id=self.tokenizer.pad_token_id,
                use_cache=True,
                **generation_kwargs,
            )
        return out
