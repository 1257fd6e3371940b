"""Every adapter parses its real file in the shared data folder with the counts its SOURCE.md states,
and its records pass their own kind's validation.  Hub readers run against a monkeypatched
`datasets.load_dataset` (no network)."""

from __future__ import annotations

from collections import Counter

import pytest

from alignbench.data.adapters import ADAPTERS, LoadReport, load_dataset_items, resolve_source
from alignbench.data.adapters.hh_rlhf import split_pair, transcript_messages
from alignbench.data.adapters.winogrande import split_options
from alignbench.data.records import Ranking, parse_record
from alignbench.errors import DataError


def _load(name, **kwargs):
    report = LoadReport()
    items = load_dataset_items(name, report=report, **kwargs)
    return items, report


def _valid_and_unique(items):
    for item in items[:: max(1, len(items) // 3000)]:  # a spread sample of <= ~3000: to_dict() is slow
        assert parse_record(item.kind, item.to_dict()).to_dict() == item.to_dict()
    ids = [item.id for item in items]
    assert len(set(ids)) == len(ids)


@pytest.fixture(scope="module")
def hh(shared_data):
    return {subset: _load("hh-rlhf", subset=subset) for subset in ("harmless-base", "helpful-base")}


# ---- HH-RLHF ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("subset,rows,identical", [("harmless-base", 2312, 0), ("helpful-base", 2354, 2)])
def test_hh_rlhf_rows_and_rankings(hh, subset, rows, identical):
    items, report = hh[subset]
    assert report.rows == rows
    assert report.skipped["identical replies"] == identical  # SOURCE.md: 2 rows with chosen == rejected
    assert report.records == len(items) == rows - sum(report.skipped.values())
    assert len(items) > rows - 10
    assert all(isinstance(r, Ranking) and r.ranks == [1, 2] and r.k == 2 for r in items)
    assert all(r.prompt.startswith("\n\nHuman:") and r.prompt.endswith("\n\nAssistant:") for r in items)
    shared = [r for r in items if r.meta["prefix_shared"]]
    assert len(items) - len(shared) <= 5  # SOURCE.md: all but a handful share the prefix
    first = items[0]
    assert first.id == f"hh-rlhf/{subset}/test/0" and first.meta["messages"][-1]["role"] == "user"
    # the ranking reproduces the original transcripts: prompt + " " + response
    assert all(r.responses[0] != r.responses[1] for r in items)
    _valid_and_unique(items)


def test_hh_rlhf_multi_turn_share_matches_source(hh):
    items = hh["harmless-base"][0] + hh["helpful-base"][0]
    multi = sum(len(r.meta["messages"]) > 1 for r in items) / len(items)
    assert 0.6 < multi < 0.8  # SOURCE.md: about 70 % of rows are multi-turn


def test_hh_transcript_helpers():
    chosen = "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: Name a fruit.\n\nAssistant: An apple."
    rejected = "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: Name a fruit.\n\nAssistant: No."
    prompt, good, bad, shared = split_pair(chosen, rejected)
    assert prompt == "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: Name a fruit.\n\nAssistant:"
    assert (good, bad, shared) == ("An apple.", "No.", True)
    assert transcript_messages(prompt) == [
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Name a fruit."},
    ]
    # earlier turns differ: prompt from the chosen side, rejected reply = its own last turn
    _, good, bad, shared = split_pair(chosen, "\n\nHuman: Yo\n\nAssistant: Pear.")
    assert (good, bad, shared) == ("An apple.", "Pear.", False)


# ---- TruthfulQA ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version,n,categories", [("v0", 817, 38), ("v1", 817, 38), ("2025", 790, 37)])
def test_truthfulqa_versions(shared_data, version, n, categories):
    items, report = _load("truthfulqa", version=version)
    assert len(items) == report.rows == n
    assert len({i.meta["category"] for i in items}) == categories
    assert {i.meta["version"] for i in items} == {version}
    for item in items:
        refs = item.references
        assert (
            item.inputs["question"] and refs["best_answer"] and refs["correct_answers"] and refs["incorrect_answers"]
        )
        assert refs["mc1"]["labels"][0] == 1 and sum(refs["mc1"]["labels"]) == 1
        assert len(refs["mc1"]["choices"]) == len(refs["mc1"]["labels"]) >= 2
        assert 1 <= sum(refs["mc2"]["labels"]) < len(refs["mc2"]["labels"])
        assert ("mc0" in refs) == ("best_incorrect_answer" in refs) == (version == "2025")
        if version == "2025":
            assert len(refs["mc0"]["choices"]) == 2
    _valid_and_unique(items)


def test_truthfulqa_v1_types_and_default_version(shared_data):
    v1 = load_dataset_items("truthfulqa", version="v1")
    assert Counter(i.meta["type"] for i in v1) == {"Adversarial": 437, "Non-Adversarial": 380}
    default = load_dataset_items("truthfulqa", limit=5)
    assert default[0].meta["version"] == "v0" and default[0].meta["mc_index"] == 0


def test_truthfulqa_limit_takes_lm_eval_questions(shared_data):
    """Regression: items came in CSV order, so `--limit N` scored other questions than `lm_eval --limit N`
    (whose truthfulqa_mc1/mc2 read mc_task.json's order). Ids stay the CSV row whatever the order."""
    import json

    mc = json.loads((shared_data / "truthfulqa" / "v0" / "mc_task.json").read_text())
    items = load_dataset_items("truthfulqa", version="v0", limit=20)
    assert [i.inputs["question"].strip("'\" ") for i in items] == [e["question"].strip("'\" ") for e in mc[:20]]
    assert [i.meta["mc_index"] for i in items] == list(range(20))
    assert [i.references["mc1"]["choices"] for i in items] == [list(e["mc1_targets"]) for e in mc[:20]]
    assert all(i.id == f"truthfulqa/v0/{i.meta['csv_row']:04d}" for i in items)


def test_truthfulqa_v0_is_lm_eval_mc_order(shared_data):
    """lm-eval's truthful_qa multiple_choice (HF) starts with the smallest-country question: v0's MC file."""
    items = load_dataset_items("truthfulqa", version="v0")
    first_mc = min(items, key=lambda i: i.meta["mc_index"])
    assert first_mc.inputs["question"].startswith("What is the smallest country in the world")
    assert first_mc.references["mc1"]["choices"][0].startswith("Nauru")


def test_truthfulqa_single_file_source(shared_data):
    items = load_dataset_items("truthfulqa", source=shared_data / "truthfulqa" / "v1" / "mc_task.json")
    assert len(items) == 817 and "mc2" in items[0].references and "best_answer" not in items[0].references
    assert items[0].id == "truthfulqa/v1/0000" and items[0].meta["version"] == "v1"  # the file's folder says v1
    top = load_dataset_items("truthfulqa", source=shared_data / "truthfulqa" / "TruthfulQA.csv", limit=1)
    assert top[0].meta["version"] == "2025" and "mc1" not in top[0].references


@pytest.mark.parametrize("version,n,truth_yes", [("current", 22434, 9484), ("v0", 22114, 9236)])
def test_truthfulqa_judge_sets(shared_data, version, n, truth_yes):
    truth, report = _load("truthfulqa-judge", subset="truth", version=version)
    info = load_dataset_items("truthfulqa-judge", subset="info", version=version)
    assert len(truth) == report.rows == len(info) == n  # SOURCE.md: 22,434 lines each (v0: 22,114)
    assert sum(d.meta["label"] for d in truth) == truth_yes
    assert all(d.prompt.endswith("\nTrue:") and d.response in (" yes", " no") for d in truth)
    assert all(d.prompt.endswith("\nHelpful:") for d in info)
    assert truth[0].prompt == f"Q: {truth[0].meta['question']}\nA: {truth[0].meta['answer']}\nTrue:"
    _valid_and_unique(truth + info)


# ---- RealToxicityPrompts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "subset,n", [("decodingtrust_toxic_challenging", 951), ("decodingtrust_nontoxic", 974), ("quark_random5k", 4042)]
)
def test_rtp_subsets(shared_data, subset, n):
    items, report = _load("realtoxicityprompts", subset=subset)
    assert len(items) == report.rows == n
    tox = [i.references["prompt_toxicity"] for i in items]
    if subset == "decodingtrust_toxic_challenging":
        assert all(i.meta["challenging"] for i in items)
    if subset == "decodingtrust_nontoxic":
        assert all(t < 0.5 for t in tox)
    if subset == "quark_random5k":
        assert sum(t is None for t in tox) == 15  # 19 of the upstream 5000 have no score; 15 are in the shared part
    assert all(i.inputs["prompt"] and "continuation" in i.references for i in items)
    assert all(set(i.references["prompt_scores"]) >= {"toxicity", "severe_toxicity", "insult"} for i in items)
    _valid_and_unique(items)


def test_rtp_all_subsets(shared_data):
    items = load_dataset_items("realtoxicityprompts")
    assert len(items) == 951 + 974 + 4042
    assert Counter(i.meta["subset"] for i in items)["quark_random5k"] == 4042


# ---- QAGS and SummEdits ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "subset,n,consistent,votes,yes,sentences",
    [("cnndm", 235, 113, 2142, 1543, 714), ("xsum", 239, 116, 717, 348, 239)],
)
def test_qags(shared_data, subset, n, consistent, votes, yes, sentences):
    items, report = _load("qags", subset=subset)
    assert len(items) == report.rows == n
    assert sum(i.references["consistent"] for i in items) == consistent
    assert sum(sum(i.references["sentence_votes"]) for i in items) == votes
    assert sum(sum(i.references["sentence_yes_votes"]) for i in items) == yes
    assert sum(len(i.references["sentences"]) for i in items) == sentences
    assert all(i.inputs["document"] and i.inputs["summary"] for i in items)
    _valid_and_unique(items)


SUMMEDITS = {
    "ectsum": (668, 242),
    "news": (819, 321),
    "podcast": (500, 163),
    "qmsumm": (431, 183),
    "sales_call": (520, 173),
    "sales_email": (613, 179),
    "samsum": (664, 242),
    "scitldr": (466, 145),
}


def test_summedits_domains(shared_data):
    items, report = _load("summedits")
    assert report.rows == len(items) == sum(n for n, _ in SUMMEDITS.values())
    by_domain = Counter(i.meta["domain"] for i in items)
    consistent = Counter(i.meta["domain"] for i in items if i.references["consistent"])
    assert {d: (by_domain[d], consistent[d]) for d in SUMMEDITS} == SUMMEDITS
    assert all(isinstance(i.meta["edit_types"], list) for i in items)
    assert any(i.meta["is_seed"] and i.references["label"] == 1 for i in items)
    _valid_and_unique(items)


def test_summedits_split_filter(shared_data):
    test, report = _load("summedits", subset="news", split="test")
    assert report.rows == 819 and 0 < len(test) < 819 and {i.meta["split"] for i in test} == {"test"}
    assert report.skipped["split != test"] == 819 - len(test)


# ---- alignment-tax sets ----------------------------------------------------------------------------


def test_hellaswag(shared_data):
    items, report = _load("hellaswag")
    assert len(items) == report.rows == 10042
    assert Counter(i.references["label"] for i in items) == {0: 2515, 1: 2485, 2: 2584, 3: 2458}
    first = items[0]
    assert first.inputs["activity_label"] == "Roof shingle removal" and first.references["label"] == 3
    assert all(len(i.inputs["endings"]) == 4 for i in items)
    _valid_and_unique(items)


def test_hellaswag_ctx_is_lm_evals(shared_data):
    """Regression: the text file does not capitalise ctx_b as lm-eval's `ctx_a + " " + ctx_b.capitalize()`
    does, so every ActivityNet context was scored in another form than lm-eval's.  The first two items
    of hellaswag_val.jsonl (ind 24 and 92) as lm-eval builds them:"""
    items = load_dataset_items("hellaswag", limit=3)
    assert items[0].inputs["ctx"] == "Roof shingle removal: A man is sitting on a roof. He"  # ctx_b "he"
    assert items[1].inputs["ctx"] == (
        "Clean and jerk: A lady walks to a barbell. She bends down and grabs the pole. The lady"
    )  # ctx_b "the lady"
    assert items[0].meta["ctx_b"] == "he" and items[1].meta["ctx_b"] == "the lady"
    from alignbench.data.adapters.hellaswag import lm_eval_ctx

    # a WikiHow context ends with a full sentence (empty ctx_b) and stays; capitalize() lowers the rest
    assert lm_eval_ctx("Home: Clean it. Dry it.") == ("Home: Clean it. Dry it.", "")
    assert lm_eval_ctx("Talk: He speaks. the man from the USA") == (
        "Talk: He speaks. The man from the usa",
        "the man from the USA",
    )
    assert lm_eval_ctx("Talk: the man") == ("Talk: The man", "the man")


@pytest.mark.parametrize("version,n,impossible", [("v2.0", 11873, 5945), ("v1.1", 10570, 0), ("xquad.en", 1190, 0)])
def test_squad_versions(shared_data, version, n, impossible):
    items, report = _load("squad", version=version)
    assert len(items) == report.rows == n
    assert sum(i.references["is_impossible"] for i in items) == impossible
    for item in items:
        assert all(a in item.inputs["context"] for a in item.references["answers"])
        assert bool(item.references["answers"]) != item.references["is_impossible"]
    if version == "v2.0":
        assert len({(i.meta["title"], i.meta["paragraph"]) for i in items}) == 1204
        assert items[0].id == "56ddde6b9a695914005b9628"
    _valid_and_unique(items)


def test_lambada(shared_data):
    items, report = _load("lambada")
    assert len(items) == report.rows == 5153
    assert sum(len(i.references["target"].split()) > 1 for i in items) == 6  # SOURCE.md: 6 are not one word
    assert all(i.references["text"] == i.inputs["context"] + " " + i.references["target"] for i in items)
    _valid_and_unique(items)


def test_winogrande(shared_data):
    items, report = _load("winogrande")
    assert len(items) == report.rows == 1267
    assert Counter(i.references["gold"] for i in items) == {0: 628, 1: 639}
    first = items[0].inputs
    assert (first["option1"], first["option2"]) == ("Sarah", "Maria")
    assert first["sentence"] == "Sarah was a much better surgeon than Maria so _ always got the easier cases."
    for item in items:
        a, b = item.inputs["context_options"]
        assert a.endswith(item.inputs["option1"]) and b.endswith(item.inputs["option2"])
        assert item.references["answer"] == str(item.references["gold"] + 1)
    _valid_and_unique(items)


def test_winogrande_split_options_keeps_shared_first_word():
    assert split_options("I fed the dog", "I fed the cat") == ("I fed the", "dog", "cat")
    assert split_options("Bob", "Ann") == ("", "Bob", "Ann")


# ---- registry, sources, hub code paths -------------------------------------------------------------


def test_registry_covers_every_shared_folder(shared_data):
    # every shared folder is read by an adapter, except the paper's released samples: those are whole runs of
    # 12 policies, read by `alignbench import instructgpt-samples` (tests/test_instructgpt_samples.py)
    folders = {p.name for p in shared_data.iterdir() if p.is_dir()} - {"instructgpt-samples"}
    assert folders <= {a.folder for a in ADAPTERS.values()}
    assert ADAPTERS["hh-rlhf"].kind == "ranking" and ADAPTERS["truthfulqa-judge"].kind == "demonstration"
    assert all(a.kind == "eval" for n, a in ADAPTERS.items() if n not in ("hh-rlhf", "truthfulqa-judge"))


def test_bad_choices_and_missing_sources(shared_data, tmp_path, monkeypatch):
    with pytest.raises(DataError, match="unknown version 'v9'"):
        load_dataset_items("truthfulqa", version="v9")
    with pytest.raises(DataError, match="unknown data set"):
        load_dataset_items("nope")
    monkeypatch.setenv("ALIGNBENCH_SHARED_DATA", str(tmp_path))
    with pytest.raises(DataError, match="no local copy"):
        load_dataset_items("qags")
    assert resolve_source(ADAPTERS["squad"]) == ("hub", "rajpurkar/squad_v2")


def test_limit_and_local_file_source(shared_data):
    items = load_dataset_items("hh-rlhf", source=shared_data / "hh-rlhf" / "helpful-base" / "test.jsonl.gz", limit=7)
    assert len(items) == 7 and items[0].meta["subset"] == "helpful-base"


class FakeHub:
    """Stands in for datasets.load_dataset: returns the rows registered for (path, config, data_dir, split)."""

    def __init__(self, tables):
        self.tables, self.calls = tables, []

    def __call__(self, path, name=None, split=None, data_dir=None, **kwargs):
        self.calls.append((path, name, data_dir, split))
        try:
            return self.tables[(path, name, data_dir, split)]
        except KeyError:
            raise FileNotFoundError(f"no such set {path} {name} {data_dir} {split}") from None


def test_hub_readers_without_network(monkeypatch, tmp_path):
    import datasets

    monkeypatch.setenv("ALIGNBENCH_SHARED_DATA", str(tmp_path))  # no local copies: every adapter goes to the hub
    hh_row = {"chosen": "\n\nHuman: Hi\n\nAssistant: Hello.", "rejected": "\n\nHuman: Hi\n\nAssistant: Go away."}
    fake = FakeHub(
        {
            ("Anthropic/hh-rlhf", None, "helpful-base", "train"): [hh_row, hh_row],
            ("truthfulqa/truthful_qa", "generation", None, "validation"): [
                {
                    "type": "Adversarial",
                    "category": "Misconceptions",
                    "question": "Q1?",
                    "best_answer": "A",
                    "correct_answers": ["A", "B"],
                    "incorrect_answers": ["C"],
                    "source": "u",
                }
            ],
            ("truthfulqa/truthful_qa", "multiple_choice", None, "validation"): [
                {
                    "question": "Q1?",
                    "mc1_targets": {"choices": ["A.", "C."], "labels": [1, 0]},
                    "mc2_targets": {"choices": ["A.", "B.", "C."], "labels": [1, 1, 0]},
                }
            ],
            ("Rowan/hellaswag", None, None, "validation"): [
                {
                    "ind": 4,
                    "activity_label": "Cooking",
                    "ctx_a": "A man cuts onions.",
                    "ctx_b": "he",
                    "ctx": "A man cuts onions. he",
                    "endings": ["cries.", "sings [title] loud.", "b", "c"],
                    "source_id": "x",
                    "split": "val",
                    "split_type": "indomain",
                    "label": "0",
                }
            ],
            ("EleutherAI/lambada_openai", "default", None, "test"): [{"text": "the cat sat on the mat"}],
            ("allenai/winogrande", "winogrande_xl", None, "validation"): [
                {
                    "qID": "q1",
                    "sentence": "Ann helped Bob because _ was kind.",
                    "option1": "Ann",
                    "option2": "Bob",
                    "answer": "1",
                }
            ],
            ("rajpurkar/squad_v2", None, None, "validation"): [
                {
                    "id": "s1",
                    "title": "T",
                    "context": "Paris is in France.",
                    "question": "Where is Paris?",
                    "answers": {"text": ["France"], "answer_start": [12]},
                },
                {
                    "id": "s2",
                    "title": "T",
                    "context": "Paris is in France.",
                    "question": "Who?",
                    "answers": {"text": [], "answer_start": []},
                },
            ],
        }
    )
    monkeypatch.setattr(datasets, "load_dataset", fake)

    hh = load_dataset_items("hh-rlhf", subset="helpful-base", split="train")
    assert [r.responses for r in hh] == [["Hello.", "Go away."]] * 2 and hh[1].id == "hh-rlhf/helpful-base/train/1"
    tqa = load_dataset_items("truthfulqa")
    assert tqa[0].references["mc2"] == {"choices": ["A.", "B.", "C."], "labels": [1, 1, 0]}
    assert tqa[0].references["correct_answers"] == ["A", "B"]
    hs = load_dataset_items("hellaswag")[0]
    assert hs.inputs["ctx"] == "Cooking: A man cuts onions. He"  # lm-eval capitalises ctx_b
    assert hs.inputs["endings"][1] == "sings. loud." and hs.references["label"] == 0
    lam = load_dataset_items("lambada")[0]
    assert (lam.inputs["context"], lam.references["target"]) == ("the cat sat on the", "mat")
    wg = load_dataset_items("winogrande")[0]
    assert wg.inputs["context_options"] == ["Ann helped Bob because Ann", "Ann helped Bob because Bob"]
    assert wg.inputs["continuation"] == "was kind." and wg.references["gold"] == 0
    sq = load_dataset_items("squad")
    assert [i.references["is_impossible"] for i in sq] == [False, True]
    with pytest.raises(DataError, match="could not load from the Hugging Face hub"):
        load_dataset_items("realtoxicityprompts")
    with pytest.raises(DataError, match="no local copy"):
        load_dataset_items("summedits")


def test_aliases_and_prompts_of(shared_data):
    from alignbench.data.adapters import prompts_of
    from alignbench.data.records import Prompt

    helpful = load_dataset_items("hh-rlhf-helpful", limit=3)
    assert {r.meta["subset"] for r in helpful} == {"helpful-base"}
    prompts = prompts_of(helpful + load_dataset_items("truthfulqa", limit=2))
    assert all(isinstance(p, Prompt) for p in prompts) and prompts[0].prompt == helpful[0].prompt
    assert prompts[0].meta["messages"] == helpful[0].meta["messages"]
    assert prompts[3].prompt.startswith("What is the smallest country in the world")  # mc_task.json (lm-eval) order
    with pytest.raises(DataError, match="has no prompt"):
        prompts_of(load_dataset_items("hellaswag", limit=1))
