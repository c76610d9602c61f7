"""The tail suite: deterministic, stratified as declared, with the language and length
coverage the issue asks for."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from evalcliff.errors import EvalcliffError
from evalcliff.scoring.script import script_fidelity
from evalcliff.suites.build import build_items, content_hash, manifest
from evalcliff.suites.items import Item
from evalcliff.suites.lengths import length_meter, parse_length
from evalcliff.suites.spec import SuiteSpec, load_suite

CONTROLS = {"en", "fr", "zh"}


@pytest.fixture(scope="module")
def spec() -> SuiteSpec:
    return load_suite("tail")


@pytest.fixture(scope="module")
def items(spec: SuiteSpec) -> list[Item]:
    return build_items(spec)


def test_tail_is_deterministic(spec: SuiteSpec, items: list[Item]) -> None:
    again = build_items(spec)
    assert content_hash(again) == content_hash(items)
    assert [i.model_dump() for i in again] == [i.model_dump() for i in items]


def test_tail_strata_counts(spec: SuiteSpec, items: list[Item]) -> None:
    assert set(spec.slices) == {"head", "long_context", "low_resource", "multihop_arith", "code"}
    assert len({i.item_id for i in items}) == len(items)
    for name, sl in spec.slices.items():
        strata = Counter(i.stratum for i in items if i.slice == name)
        assert list(strata) == [label for label, _ in sl.strata_params()]
        assert set(strata.values()) == {sl.items_per_stratum}
        assert sl.weight > 0 and sl.margin is not None
    man = manifest(spec, items, spec.seed)
    assert man.length_units == ["chars/4"]
    assert sum(s.n for s in man.slices.values()) == len(items) == man.n_items


def test_tail_oversamples_the_tails(spec: SuiteSpec, items: list[Item]) -> None:
    n = Counter(i.slice for i in items)
    for name, sl in spec.slices.items():
        share = n[name] / len(items)
        assert (share < sl.weight) if name == "head" else (share > sl.weight)


def test_low_resource_coverage(items: list[Item]) -> None:
    lr = [i for i in items if i.slice == "low_resource"]
    langs = {i.meta["lang"] for i in lr}
    scripts = {i.meta["script"] for i in lr if i.meta["lang"] not in CONTROLS}
    assert langs >= CONTROLS and len(langs - CONTROLS) >= 12 and len(scripts) >= 8
    for i in lr:  # every target is wholly in the language's script
        assert script_fidelity(i.target, i.meta["script"]) == 1.0, i.item_id
    am = next(i for i in lr if i.stratum == "task=month_add,lang=am")
    assert "Amharic" in am.prompt and am.meta["script"] == "Ethiopic"


def test_long_context_lengths_and_needles(spec: SuiteSpec, items: list[Item]) -> None:
    headroom = spec.slices["long_context"].params["headroom"]
    lc = [i for i in items if i.slice == "long_context"]
    assert {i.meta["task"] for i in lc} == {"single", "multikey", "multivalue", "vartrack"}
    meter = length_meter(None)
    for i in lc:
        cell = dict(kv.split("=") for kv in i.stratum.split(","))
        budget = parse_length(cell["len"]) - headroom
        # fit_haystack promises "within about two sentences (15-60 tokens)" of the budget: it
        # stops at the first filler sentence that does not fit (babel 2.19's CLDR names made
        # one 32k prompt land 43 under)
        assert budget - 60 <= meter.count(i.prompt) == i.meta["n_tokens"] <= budget
        for answer in i.meta["answers"]:
            assert answer in i.prompt
        if i.meta["task"] == "single":  # the needle sits at `depth` of the haystack
            haystack = i.prompt.split("\n\n")[1]
            at = haystack.index("One of the special magic numbers") / len(haystack)
            tolerance = 0.03 if parse_length(cell["len"]) >= 8192 else 0.1
            assert abs(at - float(cell["depth"])) < tolerance
    multikey = next(i for i in lc if i.meta["task"] == "multikey")
    assert len(re.findall(r"special magic numbers for", multikey.prompt)) == 4


@pytest.fixture(scope="module")
def bpe_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small byte-level BPE tokenizer saved as a local Hugging Face tokenizer directory."""
    from random import Random

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from evalcliff.suites.generators.haystack import filler_sentence

    rng = Random(0)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator([filler_sentence(rng) for _ in range(500)], trainer)
    out = tmp_path_factory.mktemp("bpe")
    PreTrainedTokenizerFast(tokenizer_object=tok).save_pretrained(str(out))
    return str(out)


def test_long_context_in_model_tokens(bpe_dir: str) -> None:
    spec = SuiteSpec.model_validate(
        {
            "name": "lc",
            "slices": {
                "long_context": {
                    "generator": "ruler",
                    "scorer": "contains",
                    "weight": 1,
                    "strata": {"task": ["single", "vartrack"], "len": ["1k", 2048], "depth": [0.5]},
                    "items_per_stratum": 1,
                }
            },
        }
    )
    made = build_items(spec, tokenizer=bpe_dir)
    meter = length_meter(bpe_dir)
    assert meter.exact and {i.meta["length_unit"] for i in made} == {f"tokens:{bpe_dir}"}
    for i in made:
        budget = parse_length(i.stratum.split(",")[1].split("=")[1]) - 128
        assert budget - 60 <= meter.count(i.prompt) == i.meta["n_tokens"] <= budget
    assert content_hash(made) == content_hash(build_items(spec, tokenizer=bpe_dir))
    assert content_hash(made) != content_hash(build_items(spec))


def test_missing_tokenizer_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EvalcliffError, match="could not be loaded offline"):
        length_meter(str(tmp_path / "nope"))


def test_code_slice_holds_all_of_humaneval(items: list[Item]) -> None:
    he = [i for i in items if i.stratum == "task=humaneval"]
    assert [i.meta["task_id"] for i in he] == [f"HumanEval/{k}" for k in range(164)]
    assert len({i.cluster_id for i in he}) == 164


def test_multihop_targets_follow_the_chain(items: list[Item]) -> None:
    mh = [i for i in items if i.slice == "multihop_arith"]
    for i in mh[::37]:
        env: dict[str, int] = {}
        for line in i.prompt.splitlines():
            m = re.fullmatch(r"Let (\w) = (.+)\.", line)
            if m:
                env[m.group(1)] = eval(m.group(2), {}, dict(env))  # noqa: S307 - our prompt
        assert str(list(env.values())[-1]) == i.target
        assert len(env) == i.meta["hops"] + 1
