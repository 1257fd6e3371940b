import threading

from alignbench.store import Store, generation_key


def test_store_roundtrip_into_pandas(tmp_path):
    store = Store(tmp_path / "run")
    run = store.start_run("eval", {"suite": "x", "limit": 3}, suite="x", seed=7)
    store.add_model(run, "cand", "tiny-random", "fp1", "candidate", {"params": 3})
    store.add_items(
        run, "winrate", [("a", {"prompt": "p1"}), ("b", {"prompt": "p2"})], dataset="d", dataset_fingerprint="dfp"
    )
    key = generation_key("fp1", "p1", {"temperature": 0.0, "max_new_tokens": 8}, 0)
    store.put_generations(
        [
            {
                "gen_key": key,
                "model_fingerprint": "fp1",
                "prompt": "p1",
                "decoding": {"temperature": 0.0, "max_new_tokens": 8},
                "sample_index": 0,
                "text": "hi",
            }
        ]
    )
    store.put_item_metrics(run, "winrate", "win", "cand", {"a": 1.0, "b": 0.5})
    store.put_metric(
        run, "winrate", "win_rate", "cand", 0.75, 0.5, 1.0, n=2, higher_is_better=True, meta={"judge": "rm"}
    )
    store.finish_run(run)
    store.close()

    again = Store(tmp_path / "run")
    assert again.get_generations([key])[key]["text"] == "hi"
    runs = again.frame("runs")
    assert runs.loc[0, "status"] == "done" and runs.loc[0, "config"] == {"suite": "x", "limit": 3}
    items = again.frame("items", run_id=run)
    assert sorted(items["item_id"]) == ["a", "b"] and items.loc[0, "payload"]["prompt"] in ("p1", "p2")
    per_item = again.frame("item_metrics", run_id=run).set_index("item_id")["value"].to_dict()
    assert per_item == {"a": 1.0, "b": 0.5}
    m = again.metrics_dict(run)["winrate"]["win_rate"]["cand"]
    assert m == {"value": 0.75, "ci_low": 0.5, "ci_high": 1.0, "n": 2, "higher_is_better": True, "judge": "rm"}


def test_generation_key_is_canonical():
    a = generation_key("fp", "p", {"temperature": 1.0, "top_p": 0.9}, 3)
    b = generation_key("fp", "p", {"top_p": 0.9, "temperature": 1.0}, 3)
    assert a == b
    assert a != generation_key("fp", "p", {"top_p": 0.9, "temperature": 1.0}, 4)


def test_failed_transaction_writes_nothing(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    run = store.start_run("eval")
    try:
        with store.transaction():
            store.put_metric(run, "e", "m", "x", 1.0)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert store.metrics_dict(run) == {}


def test_store_is_safe_across_threads(tmp_path):
    store = Store(tmp_path / "run")
    run = store.start_run("eval")

    def write(t):
        for i in range(20):
            store.put_metric(run, "e", f"m{t}_{i}", "x", float(i))

    threads = [threading.Thread(target=write, args=(t,)) for t in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(store.metrics_dict(run)["e"]) == 80


def test_get_item_metrics_reads_back_one_eval_metric_model(tmp_path):
    store = Store(tmp_path)
    run = store.start_run("eval")
    other = store.start_run("eval")
    store.put_item_metrics(run, "truthfulqa_mc", "mc1", "cand", {"q1": 1.0, "q2": None})
    store.put_item_metrics(run, "truthfulqa_mc", "mc2", "cand", {"q1": 0.3})
    store.put_item_metrics(other, "truthfulqa_mc", "mc1", "cand", {"q3": 0.0})
    assert store.get_item_metrics(run, "truthfulqa_mc", "mc1", "cand") == {"q1": 1.0, "q2": None}
    assert store.get_item_metrics(run, "truthfulqa_mc", "mc1", "base") == {}


def test_latest_run_id_can_skip_runs_without_metrics(tmp_path):
    store = Store(tmp_path)
    first = store.start_run("eval")
    store.put_metric(first, "winrate", "win_rate", "cand", 0.5)
    second = store.start_run("eval")  # started, nothing stored yet
    assert store.latest_run_id() == second
    assert store.latest_run_id(with_metrics=True) == first
    assert Store(tmp_path / "empty").latest_run_id(with_metrics=True) is None
