"""The tail-suite generators on their own: data sources, edge cases, reference solutions."""

from __future__ import annotations

import re
from random import Random

import pytest

from evalcliff.scoring import score_code, score_contains
from evalcliff.suites.build import build_items, content_hash
from evalcliff.suites.generators import (
    GENERATORS,
    arith_chain,
    cldr,
    cldr_language,
    code_tasks,
    get_enumerator,
    get_generator,
    ruler,
)
from evalcliff.suites.generators.head_tasks import generate as head_generate
from evalcliff.suites.items import Item
from evalcliff.suites.spec import load_suite

SMOKE_CONTENT_HASH = "d03b597f0044cdba"  # the embedded model is trained on these items


def _item(sample: object, slice_: str = "s") -> Item:
    from evalcliff.suites.generators import Sample

    assert isinstance(sample, Sample)
    return Item(
        item_id="t", suite="t", slice=slice_, stratum="s", cluster_id="c",
        prompt=sample.prompt, target=sample.target, meta=sample.meta,
    )  # fmt: skip


def test_smoke_items_unchanged() -> None:
    assert content_hash(build_items(load_suite("smoke"))) == SMOKE_CONTENT_HASH


def test_every_generator_imports() -> None:
    for name in GENERATORS:
        assert callable(get_generator(name))
    assert get_enumerator("code_tasks") is not None and get_enumerator("ruler") is None


def test_cldr_is_immune_to_babel_alias_caching() -> None:
    from babel import Locale

    for lang in ("lo", "my", "fr", "hy", "si"):  # reading stand-alone names via babel's API
        Locale.parse(lang).months["stand-alone"]["wide"][1]  # can leak one locale into another
    assert cldr.month_names("fr")[:2] == ("janvier", "février")
    assert cldr.month_names("hy")[0] == "հունվար"  # stand-alone (format is genitive: -ի)
    assert cldr.day_names("en")[0] == "Monday" and cldr.day_names("zh")[6] == "星期日"
    assert cldr.locale_script("am") == "Ethiopic" and cldr.native_numbering("km") == "khmr"
    assert cldr.digits_of("hanidec")[7] == "七" and cldr.digits_of("telu")[0] == "౦"


def test_ruler_rejects_bad_params() -> None:
    with pytest.raises(ValueError, match="128k maximum"):
        ruler.generate(Random(0), {"task": "single", "len": "129k", "depth": 0.5})
    with pytest.raises(ValueError, match="unknown task"):
        ruler.generate(Random(0), {"task": "qa", "len": "1k", "depth": 0.5})
    with pytest.raises(ValueError, match="not in"):
        ruler.generate(Random(0), {"task": "single", "len": "1k", "depth": 1.5})
    with pytest.raises(ValueError, match="over the budget"):
        ruler.generate(Random(0), {"task": "single", "len": 100, "depth": 0.5})


def test_ruler_vartrack_chain_and_scoring() -> None:
    (s,) = ruler.generate(Random(4), {"task": "vartrack", "len": "4k", "depth": 0.3})
    names = s.meta["answers"]
    value = re.search(r"assigned the value (\d+)", s.prompt)
    assert value and f"VAR {names[0]} = {value.group(1)}." in s.prompt
    for a, b in zip(names, names[1:], strict=False):
        assert s.prompt.index(f"VAR {a} = ") < s.prompt.index(f"VAR {b} = VAR {a}.")
    assert len(re.findall(r"VAR [A-Z]{5} = \d+\.", s.prompt)) == 2  # plus a decoy chain
    item = _item(s)
    assert score_contains(item, " " + ", ".join(names)).correct
    partial = score_contains(item, ", ".join(names[:2]))
    assert partial.score == pytest.approx(2 / len(names)) and not partial.catastrophic
    assert score_contains(item, "I cannot find it.").catastrophic


def test_cldr_language_tasks() -> None:
    rng = Random(1)
    (s,) = cldr_language.generate(rng, {"lang": "ka", "task": "month_add"})
    months = cldr.month_names("ka")
    start = next(m for m in months if f"after {m}?" in s.prompt)
    k = int(re.search(r"is (\d+) month", s.prompt).group(1))  # type: ignore[union-attr]
    assert s.target == months[(months.index(start) + k) % 12]
    (d,) = cldr_language.generate(rng, {"lang": "my", "task": "digits"})
    number = re.search(r"number (\d+)", d.prompt).group(1)  # type: ignore[union-attr]
    assert d.target == number.translate(str.maketrans("0123456789", cldr.digits_of("mymr")))
    (w,) = cldr_language.generate(Random(3), {"lang": "am", "task": "number_words"})
    assert w.meta["script"] == "Ethiopic" and w.target
    with pytest.raises(ValueError, match="Latin digits natively"):
        cldr_language.generate(rng, {"lang": "sw", "task": "digits"})
    with pytest.raises(ValueError, match="num2words has no language"):
        cldr_language.generate(rng, {"lang": "km", "task": "number_words"})
    with pytest.raises(ValueError, match="unknown task"):
        cldr_language.generate(rng, {"lang": "km", "task": "poetry"})


def test_arith_chain_range() -> None:
    (s,) = arith_chain.generate(Random(0), {"hops": 8, "digits": 6})
    assert s.prompt.count("Let ") == 9 and s.meta["steps"][-1] == s.target
    with pytest.raises(ValueError, match="out of range"):
        arith_chain.generate(Random(0), {"hops": 0, "digits": 2})


def test_head_tasks_answers() -> None:
    rng = Random(2)
    for task in ("arith", "weekday", "month", "translate", "first_letter", "count_words"):
        (s,) = head_generate(rng, {"task": task})
        assert s.prompt.endswith("\nAnswer:") and s.target
        assert score_contains(_item(s), f"The answer is {s.target}.").correct
    with pytest.raises(ValueError, match="unknown task"):
        head_generate(rng, {"task": "poem"})


@pytest.mark.parametrize("difficulty", [1, 2, 3])
def test_generated_functions_reference_passes(difficulty: int) -> None:
    (s,) = code_tasks.generate(Random(difficulty), {"task": "function", "difficulty": difficulty})
    item = _item(s, "code")
    assert score_code(item, s.completion).correct
    broken = s.completion.replace("    xs = list(nums)\n", "    xs = list(nums)[1:]\n")
    assert not score_code(item, broken).correct


def test_humaneval_enumeration() -> None:
    problems = code_tasks.enumerate_samples({"task": "humaneval"})
    assert problems is not None and len(problems) == 164
    assert code_tasks.enumerate_samples({"task": "function"}) is None
    with pytest.raises(ValueError, match="is not generated"):
        code_tasks.generate(Random(0), {"task": "humaneval"})
