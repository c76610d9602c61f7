"""The training stream never contains an evaluation prompt."""

from itertools import islice

from evalcliff.dev.embedded.train import eval_prompt_hashes, training_texts
from evalcliff.suites.items import prompt_hash


def test_training_prompts_are_disjoint_from_eval_items() -> None:
    banned = eval_prompt_hashes()
    assert len(banned) > 700
    seen = 0
    for segments in islice(training_texts(seed=8, banned=banned), 3000):
        text = ""
        for seg, is_answer in segments:
            if not is_answer:
                text += seg
                # every answer follows an evaluation-style prompt: the text so far
                continue
            assert prompt_hash(text) not in banned
            text += seg
            seen += 1
    assert seen > 3000


def test_banned_prompts_are_really_filtered() -> None:
    # feed the stream a ban list made of its own first prompts: they must disappear
    first = []
    for segments in islice(training_texts(seed=9, banned=set()), 50):
        if len(segments) == 2:
            first.append(prompt_hash(segments[0][0]))
    again = [
        prompt_hash(s[0][0])
        for s in islice(training_texts(seed=9, banned=set(first)), 50)
        if len(s) == 2
    ]
    assert not set(again) & set(first)
