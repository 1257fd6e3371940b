"""The alignment tax (InstructGPT section 4.3): public NLP tasks scored for a candidate and its baseline on
the same items, reported per task as candidate − baseline with a paired bootstrap 95% CI.

Tasks and their scoring (as lm-evaluation-harness scores them):
  hellaswag   4 endings continued after " " from "<activity>: <context>"; acc = argmax log-likelihood,
              acc_norm = argmax log-likelihood / len(ending in characters) (lm-eval's byte-length norm).
  lambada     context + " " + last word; acc = the whole last word is the greedy continuation.
  winogrande  partial scoring: the shared continuation scored after each of the two filled-in contexts;
              acc = the gold option gives it the higher log-likelihood.
  squad_v2    greedy answer to "passage + question" (declining = no answer); official EM and F1.
  wmt15_fr_en (when given a file) greedy translation, sacrebleu corpus BLEU.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def choice_accuracy(logliks: Sequence[float], gold: int) -> float:
    return float(int(np.argmax(logliks)) == int(gold))


def choice_accuracy_norm(logliks: Sequence[float], choices: Sequence[str], gold: int) -> float:
    """lm-eval's acc_norm: log-likelihood divided by the choice's length in characters."""
    lengths = np.array([float(len(c)) for c in choices])
    return float(int(np.argmax(np.asarray(logliks, dtype=np.float64) / lengths)) == int(gold))


def winogrande_requests(context_options: Sequence[str], continuation: str) -> list[tuple[str, str]]:
    """Partial scoring: the same continuation after each filled-in context (lm-eval's winogrande)."""
    return [(ctx, " " + continuation) for ctx in context_options]


def lambada_request(context: str, last_word: str) -> tuple[str, str]:
    return context, " " + last_word


# -- per-task scoring: items -> {metric: {item_id: value}} for one model ---------------------------------------
def score_hellaswag(engine, items) -> dict[str, dict[str, float]]:
    requests = [(it.inputs["ctx"], " " + e) for it in items for e in it.inputs["endings"]]
    res = engine.loglikelihood(requests, desc="hellaswag")
    out: dict[str, dict[str, float]] = {"acc": {}, "acc_norm": {}}
    pos = 0
    for it in items:
        endings = it.inputs["endings"]
        lls = [r.logprob for r in res[pos : pos + len(endings)]]
        pos += len(endings)
        gold = int(it.references["label"])
        out["acc"][it.id] = choice_accuracy(lls, gold)
        # lm-eval normalises by len(choice) of doc_to_choice, i.e. the ending without the " " delimiter
        out["acc_norm"][it.id] = choice_accuracy_norm(lls, endings, gold)
    return out


def score_lambada(engine, items) -> dict[str, dict[str, float]]:
    res = engine.loglikelihood(
        [lambada_request(it.inputs["context"], it.references["target"]) for it in items], desc="lambada"
    )
    return {
        "acc": {it.id: float(r.is_greedy) for it, r in zip(items, res)},
        "logprob": {it.id: r.logprob for it, r in zip(items, res)},
    }


def score_winogrande(engine, items) -> dict[str, dict[str, float]]:
    requests = [
        r for it in items for r in winogrande_requests(it.inputs["context_options"], it.inputs["continuation"])
    ]
    res = engine.loglikelihood(requests, desc="winogrande")
    return {
        "acc": {
            it.id: choice_accuracy([res[2 * i].logprob, res[2 * i + 1].logprob], it.references["gold"])
            for i, it in enumerate(items)
        }
    }


SQUAD_PROMPT = (
    "Answer the question with a short span copied from the passage. If the passage does not contain "
    'the answer, answer "unanswerable".\n\nPassage: {context}\n\nQuestion: {question}\nAnswer:'
)


def score_squad(
    gen_engine, items, params, no_answer: Sequence[str] = ()
) -> tuple[dict[str, dict[str, float]], list[str]]:
    from alignbench.evals.squad_metrics import extract_prediction, squad_scores

    prompts = [SQUAD_PROMPT.format(context=it.inputs["context"], question=it.inputs["question"]) for it in items]
    outs = gen_engine.generate(prompts, params, desc="squad")
    preds = [extract_prediction(o[0].text, no_answer) for o in outs]
    em, f1 = {}, {}
    for it, pred in zip(items, preds):
        em[it.id], f1[it.id] = squad_scores(pred, it.references["answers"])
    return {"em": em, "f1": f1}, preds


def score_translation(gen_engine, items, params) -> tuple[dict[str, dict[str, float]], list[str], float]:
    """Per-item sentence BLEU (for paired resampling) and the corpus BLEU (the WMT figure), sacrebleu."""
    import sacrebleu

    prompts = [f"Translate French to English.\n\nFrench: {it.inputs['source']}\nEnglish:" for it in items]
    outs = gen_engine.generate(prompts, params, desc="translation")
    hyps = [o[0].text.strip().split("\n")[0].strip() for o in outs]
    refs = [it.references["reference"] for it in items]
    per = {it.id: sacrebleu.sentence_bleu(h, [r]).score for it, h, r in zip(items, hyps, refs)}
    return {"bleu": per}, hyps, sacrebleu.corpus_bleu(hyps, [refs]).score


def translation_items(path: str) -> list:
    """WMT-style pairs from a local JSONL of {"source": fr, "reference": en} (or {"fr", "en"}); the WMT-15
    test set is not in the shared data, so users pass their own file."""
    from alignbench.data.records import EvalItem
    from alignbench.data.sources import iter_source_rows
    from alignbench.errors import DataError

    items = []
    for i, row in enumerate(iter_source_rows(path)):
        data, origin = row.data, row.origin
        src = data.get("source", data.get("fr")) if isinstance(data, dict) else None
        ref = data.get("reference", data.get("en")) if isinstance(data, dict) else None
        if not isinstance(src, str) or not src.strip() or not isinstance(ref, str):
            raise DataError(f"{origin}: source/reference: need string fields `source` and `reference` (or fr/en)")
        items.append(EvalItem(id=f"wmt/{i:05d}", inputs={"source": src}, references={"reference": ref}))
    return items


# -- the eval --------------------------------------------------------------------------------------------------
TASK_DATASET = {
    "hellaswag": "hellaswag",
    "lambada": "lambada",
    "winogrande": "winogrande",
    "squad_v2": "squad",
    "wmt15_fr_en": None,
}
TASK_METRICS = {
    "hellaswag": (("acc", "HellaSwag accuracy"), ("acc_norm", "HellaSwag accuracy (length-normalised)")),
    "lambada": (("acc", "LAMBADA last-word accuracy"),),
    "winogrande": (("acc", "WinoGrande accuracy (partial scoring)"),),
    "squad_v2": (("em", "SQuAD v2 exact match"), ("f1", "SQuAD v2 F1")),
    "wmt15_fr_en": (("bleu", "WMT-15 Fr→En sentence BLEU (mean)"),),
}
# no_answer: extra strings that mean "no answer" in SQuAD v2 outputs (besides squad_metrics.NO_ANSWER_STARTS).
SPEC_KEYS = {"task", "source", "subset", "split", "version", "file", "no_answer"}
# No stop strings: a base model often starts its answer with a newline, which a "\n" stop would make empty;
# extract_prediction / the translation reader take the first non-empty line instead.
# The SQuAD / translation prompts are instructions: chat template by default (`chat: false` for base models).
DEFAULT_GEN_DECODING = {"max_new_tokens": 32, "temperature": 0.0, "chat": True}


def validate(spec) -> list[str]:
    task = spec.get("task") or spec.name.split("/")[-1]
    if task not in TASK_DATASET:
        return [f"task: {task!r}: choose from {', '.join(TASK_DATASET)}"]
    no_answer = spec.get("no_answer")
    if no_answer is not None and (not isinstance(no_answer, list) or not all(isinstance(x, str) for x in no_answer)):
        return ["no_answer: must be a list of strings"]
    if task == "wmt15_fr_en" and not spec.get("file"):
        return ["file: the WMT-15 task needs a local JSONL of {source, reference} pairs"]
    return []


def run(ctx, spec) -> None:
    """Score every model on the task's items; metrics per model, and for each candidate the
    `<metric>_delta` against the baseline with a paired bootstrap CI over the same items."""
    from alignbench.engines import DecodingParams
    from alignbench.evals.itemwise import load_items, put_delta, put_mean

    task = spec.get("task") or spec.name.split("/")[-1]
    eval_name = spec.name if "/" in spec.name else f"alignment_tax/{task}"
    if task == "wmt15_fr_en":
        items = translation_items(spec.get("file"))[: ctx.item_limit(spec)]
        ctx.store.add_items(ctx.run_id, eval_name, [(it.id, it.to_dict()) for it in items], dataset=spec.get("file"))
    else:
        items = load_items(ctx, spec, TASK_DATASET[task], **({"version": "v2.0"} if task == "squad_v2" else {}))
    params = DecodingParams.from_dict({"seed": ctx.seed, **DEFAULT_GEN_DECODING, **spec.decoding()})
    meta = {"dataset": TASK_DATASET[task] or spec.get("file"), "task": task}
    per_model: dict[str, dict[str, dict[str, float]]] = {}
    for model in ctx.models:
        extra = {}
        if task == "hellaswag":
            values = score_hellaswag(ctx.loglik_engine(model), items)
        elif task == "lambada":
            values = score_lambada(ctx.loglik_engine(model), items)
        elif task == "winogrande":
            values = score_winogrande(ctx.loglik_engine(model), items)
        elif task == "squad_v2":
            values, preds = score_squad(ctx.engine(model), items, params, spec.get("no_answer") or ())
            ctx.store.put_samples(
                ctx.run_id,
                eval_name,
                [
                    {
                        "item_id": it.id,
                        "model": model.name,
                        "prompt": it.inputs["question"],
                        "output": p or "(no answer)",
                        "reference": " | ".join(it.references["answers"]) or "(unanswerable)",
                        "score": values["f1"][it.id],
                    }
                    for it, p in zip(items, preds)
                ],
            )
        else:
            values, hyps, corpus = score_translation(ctx.engine(model), items, params)
            extra = {"corpus_bleu": corpus}
        per_model[model.name] = values
        for metric, label in TASK_METRICS[task]:
            put_mean(
                ctx,
                eval_name,
                metric,
                model.name,
                values[metric],
                True,
                {**meta, **extra, "label": label},
                proportion=metric in ("acc", "acc_norm", "em"),
            )
        if "logprob" in values:
            ctx.store.put_item_metrics(ctx.run_id, eval_name, "logprob", model.name, values["logprob"])
    if ctx.baseline is None:
        return
    for cand in ctx.candidates:
        for metric, label in TASK_METRICS[task]:
            put_delta(
                ctx,
                eval_name,
                metric,
                cand.name,
                ctx.baseline.name,
                per_model[cand.name][metric],
                per_model[ctx.baseline.name][metric],
                True,
                {**meta, "label": label},
            )
