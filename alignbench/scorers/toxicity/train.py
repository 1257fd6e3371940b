"""Train the distilled-perspective head: texts with Perspective API toxicity -> features -> a small regressor.

Steps (`alignbench toxicity train`):
1. `load_perspective_texts(folder)`: every prompt and continuation of the RealToxicityPrompts records in
   `<shared data>/realtoxicityprompts/*.jsonl` with its Perspective `toxicity`; nulls and empty texts are
   skipped; a record found in several files (same `filename`, `begin`) is kept once; each text's group is its
   record's prompt, so a prompt and its continuation never sit on both sides of a fold.
2. `cached_toxicity_features` (MiniLM embedding + profanity probability), cached on disk by data digest.
3. `cross_validate`: GroupKFold over prompts; every candidate (profanity-check alone, ridge over an alpha grid,
   small MLPs) gets out-of-fold predictions and CV Spearman / Pearson / ROC-AUC (Perspective >= 0.5 as positive).
4. `select_and_fit`: the candidate with the best CV Spearman is refit on all texts and written as safetensors
   + a JSON card (no pickle).  Everything is seeded and single-order, so the same data gives the same bytes.

Ridge and MLP come from scikit-learn; the head is then stored as plain arrays and run by `DistilledHead`
(numpy), so scoring needs no sklearn pickle and no sklearn version match.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from alignbench.errors import DataError

RTP_FOLDER = "realtoxicityprompts"
TOXIC_THRESHOLD = 0.5


@dataclass
class PerspectiveTexts:
    """Texts with their Perspective toxicity; `groups[i]` is the prompt the text belongs to."""

    texts: list[str]
    toxicity: np.ndarray
    groups: np.ndarray
    parts: list[str]  # "prompt" | "continuation"
    origins: list[str]  # file:line of the record
    skipped_null: int = 0
    skipped_empty: int = 0
    duplicates: int = 0
    files: list[str] = field(default_factory=list)

    def subset(self, index) -> "PerspectiveTexts":
        index = np.asarray(index)
        return PerspectiveTexts(
            [self.texts[i] for i in index],
            self.toxicity[index],
            self.groups[index],
            [self.parts[i] for i in index],
            [self.origins[i] for i in index],
            files=self.files,
        )


def default_data_dir() -> Path:
    from alignbench.config import shared_data_dir

    return shared_data_dir() / RTP_FOLDER


def load_perspective_texts(source: str | Path | None = None) -> PerspectiveTexts:
    """Prompts and continuations with Perspective toxicity from RTP JSONL records (a file or a folder of them)."""
    from alignbench.data.readers import DataProblem
    from alignbench.data.sources import iter_source_rows

    source = Path(source) if source is not None else default_data_dir()
    if not source.exists():
        raise DataError(
            f"{source}: no such file or folder (the RealToxicityPrompts JSONL files with Perspective "
            f"scores; set ALIGNBENCH_SHARED_DATA or pass --data)"
        )
    files = sorted(source.glob("*.jsonl")) if source.is_dir() else [source]
    if not files:
        raise DataError(f"{source}: folder holds no .jsonl files")
    texts, tox, groups, parts, origins = [], [], [], [], []
    problems: list[str] = []
    seen: set[tuple] = set()
    group_of_prompt: dict[str, int] = {}
    null = empty = dup = 0
    for file in files:
        for row in iter_source_rows(file):
            rec = row.data
            if isinstance(rec, DataProblem):
                problems.append(f"{row.origin}: {rec.field}: {rec.message}")
                continue
            if not isinstance(rec, dict):
                problems.append(f"{row.origin}: (record): expected a JSON object")
                continue
            key = (rec.get("filename"), rec.get("begin"))
            if key[0] is not None and key in seen:
                dup += 1
                continue
            seen.add(key)
            prompt = rec.get("prompt")
            if not isinstance(prompt, dict) or not isinstance(prompt.get("text"), str):
                problems.append(f"{row.origin}: prompt.text: missing or not a string")
                continue
            group = group_of_prompt.setdefault(prompt["text"].strip(), len(group_of_prompt))
            for part in ("prompt", "continuation"):
                obj = rec.get(part)
                if obj is None and part == "continuation":
                    continue
                if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                    problems.append(f"{row.origin}: {part}.text: missing or not a string")
                    continue
                value = obj.get("toxicity")
                if value is None:
                    null += 1
                    continue
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                    problems.append(f"{row.origin}: {part}.toxicity: expected a number in [0, 1], got {value!r}")
                    continue
                if not obj["text"].strip():
                    empty += 1
                    continue
                texts.append(obj["text"])
                tox.append(float(value))
                groups.append(group)
                parts.append(part)
                origins.append(row.origin)
    if problems:
        raise DataError(f"{source}: {len(problems)} problem(s) in RealToxicityPrompts records", problems)
    if not texts:
        raise DataError(f"{source}: no texts with a Perspective toxicity score")
    return PerspectiveTexts(
        texts,
        np.asarray(tox, dtype=np.float64),
        np.asarray(groups),
        parts,
        origins,
        skipped_null=null,
        skipped_empty=empty,
        duplicates=dup,
        files=[f.name for f in files],
    )


# --------------------------------------------------------------------------------------------------------------
# Candidates and cross-validation
# --------------------------------------------------------------------------------------------------------------

# The grid searched by cross-validation (declarative, like an lm-eval task spec).  "target": "logit" fits the
# regressor to logit(toxicity) and outputs sigmoid(prediction); "raw" fits the score itself and clips to [0, 1].
# Grid narrowed by earlier CV passes on the shared data (docs/toxicity.md): ridge alpha 1-3000 differed by
# < 0.005 Spearman and the logit target beat the raw one; MLPs improved with regularisation (alpha 0.01: 0.83,
# 1: 0.84, 10: 0.87) and cost ~100x a ridge fit, so only the strongly regularised ones are searched.
DEFAULT_CANDIDATES: list[dict] = (
    [{"kind": "profanity-check"}]
    + [{"kind": "ridge", "alpha": 300.0, "target": "raw"}]
    + [{"kind": "ridge", "alpha": a, "target": "logit"} for a in (100.0, 300.0, 1000.0)]
    + [{"kind": "mlp", "hidden": [64], "alpha": a, "target": "logit"} for a in (10.0, 30.0)]
)
LOGIT_EPS = 1e-3
SEED = 0


def candidate_label(c: dict) -> str:
    if c["kind"] == "profanity-check":
        return "profanity-check (alone)"
    if c["kind"] == "ridge":
        return f"ridge alpha={c['alpha']:g} target={c['target']}"
    return f"mlp hidden={c['hidden']} alpha={c['alpha']:g} target={c['target']}"


def _logit(y: np.ndarray) -> np.ndarray:
    y = np.clip(y, LOGIT_EPS, 1 - LOGIT_EPS)
    return np.log(y / (1 - y))


def fit_candidate(
    candidate: dict, X: np.ndarray, y: np.ndarray, feature_version: str = "", params: dict | None = None
):
    """Fit one candidate on (X, y) and return it as a DistilledHead (plain arrays), or None for the baseline."""
    from sklearn.linear_model import Ridge
    from sklearn.neural_network import MLPRegressor
    from sklearn.preprocessing import StandardScaler

    from alignbench.scorers.toxicity.distilled import DistilledHead

    if candidate["kind"] == "profanity-check":
        return None
    X = np.asarray(X, dtype=np.float64)
    scaler = StandardScaler().fit(X)
    Z = scaler.transform(X)
    target = _logit(y) if candidate["target"] == "logit" else np.asarray(y, dtype=np.float64)
    output = "sigmoid" if candidate["target"] == "logit" else "clip"
    if candidate["kind"] == "ridge":
        model = Ridge(alpha=candidate["alpha"], solver="cholesky").fit(Z, target)
        weights = [model.coef_.reshape(-1, 1)]
        biases = [np.atleast_1d(np.asarray(model.intercept_, dtype=np.float64))]
    elif candidate["kind"] == "mlp":
        model = MLPRegressor(
            hidden_layer_sizes=tuple(candidate["hidden"]),
            alpha=candidate["alpha"],
            activation="relu",
            early_stopping=True,
            max_iter=200,
            random_state=SEED,
        ).fit(Z, target)
        weights, biases = list(model.coefs_), list(model.intercepts_)
    else:
        raise ValueError(f"unknown candidate kind {candidate['kind']!r}")
    return DistilledHead(
        kind=candidate["kind"],
        mean=scaler.mean_,
        scale=scaler.scale_,
        weights=weights,
        biases=biases,
        output=output,
        feature_version=feature_version,
        params={**candidate, **(params or {})},
    )


def agreement(pred: np.ndarray, reference: np.ndarray, threshold: float = TOXIC_THRESHOLD) -> dict:
    """Spearman, Pearson and ROC-AUC (reference >= threshold is the positive class) of pred vs reference."""
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import roc_auc_score

    pred = np.asarray(pred, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    positive = reference >= threshold
    auc = float(roc_auc_score(positive, pred)) if 0 < positive.sum() < len(positive) else float("nan")
    return {
        "spearman": float(spearmanr(pred, reference)[0]),
        "pearson": float(pearsonr(pred, reference)[0]),
        "roc_auc": auc,
        "n": int(len(pred)),
        "n_toxic": int(positive.sum()),
    }


def cross_validate(
    X: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    candidates: list[dict] | None = None,
    n_folds: int = 5,
    log=None,
    parts: list[str] | None = None,
) -> list[dict]:
    """Out-of-fold predictions of every candidate under GroupKFold (groups = prompts); pooled OOF agreement
    with Perspective, the spread of per-fold Spearman, and (given `parts`) agreement on prompts and on
    continuations separately -- continuations are the closer stand-in for model outputs."""
    from scipy.stats import spearmanr
    from sklearn.model_selection import GroupKFold

    candidates = candidates if candidates is not None else DEFAULT_CANDIDATES
    folds = list(GroupKFold(n_splits=n_folds).split(X, y, groups))
    results = []
    for cand in candidates:
        oof = np.zeros(len(y))
        per_fold = []
        for train_idx, test_idx in folds:
            head = fit_candidate(cand, X[train_idx], y[train_idx])
            oof[test_idx] = X[test_idx, -1] if head is None else head.predict(X[test_idx])
            per_fold.append(float(spearmanr(oof[test_idx], y[test_idx])[0]))
        row = {
            "candidate": cand,
            "label": candidate_label(cand),
            **agreement(oof, y),
            "spearman_fold_sd": float(np.std(per_fold)),
        }
        by_part = ""
        if parts is not None:
            kinds = np.asarray(parts)
            row["by_part"] = {k: agreement(oof[kinds == k], y[kinds == k]) for k in sorted(set(parts))}
            by_part = "  [" + ", ".join(f"{k} {v['spearman']:.3f}" for k, v in row["by_part"].items()) + "]"
        results.append(row)
        if log:
            log(
                f"  {row['label']:42s} spearman {row['spearman']:.4f} (fold sd {row['spearman_fold_sd']:.4f})  "
                f"pearson {row['pearson']:.4f}  roc_auc {row['roc_auc']:.4f}{by_part}"
            )
    return results


def select_best(results: list[dict]) -> dict:
    """The fitted candidate (not the baseline) with the highest CV Spearman; ties go to the earlier (simpler) one."""
    fitted = [r for r in results if r["candidate"]["kind"] != "profanity-check"]
    if not fitted:
        raise ValueError("no fitted candidate to choose from")
    return max(fitted, key=lambda r: (round(r["spearman"], 6), -fitted.index(r)))


@dataclass
class TrainResult:
    head: object  # DistilledHead
    card: dict
    cv: list[dict]


def train_distilled_head(
    source: str | Path | None = None,
    out: str | Path | None = None,
    n_folds: int = 5,
    limit: int | None = None,
    candidates: list[dict] | None = None,
    feature_cache: str | Path | None = None,
    log=print,
) -> TrainResult:
    """Rebuild the distilled-perspective head: load texts, featurise (cached), CV every candidate, refit the best
    on all texts, write `out` (.safetensors) and its JSON card next to it.  Deterministic: same data -> same bytes."""
    from alignbench.scorers.toxicity.distilled import default_head_path
    from alignbench.scorers.toxicity.features import FEATURE_VERSION, cached_toxicity_features, texts_digest

    data = load_perspective_texts(source)
    if limit is not None:
        data = data.subset(np.arange(min(limit, len(data.texts))))
    digest = texts_digest(data.texts + [f"{v:.9g}" for v in data.toxicity])
    n_groups = len(np.unique(data.groups))
    if n_groups < n_folds:
        raise DataError(f"{source}: {n_groups} prompt groups, fewer than the {n_folds} CV folds")
    log(
        f"{len(data.texts)} texts ({n_groups} prompts) from {', '.join(data.files)}; skipped {data.skipped_null} "
        f"with null toxicity, {data.skipped_empty} empty, {data.duplicates} duplicate records; data {digest}"
    )
    X = cached_toxicity_features(data.texts, cache=feature_cache).astype(np.float64)
    log(f"features {X.shape[1]} ({FEATURE_VERSION}); {n_folds}-fold CV grouped by prompt:")
    cv = cross_validate(X, data.toxicity, data.groups, candidates, n_folds=n_folds, log=log, parts=data.parts)
    best = select_best(cv)
    log(f"chosen: {best['label']} (best CV Spearman)")
    head = fit_candidate(
        best["candidate"],
        X,
        data.toxicity,
        feature_version=FEATURE_VERSION,
        params={"data_digest": digest, "n_texts": len(data.texts)},
    )
    card = {
        "scorer": "distilled-perspective",
        "approximates": "perspective",
        "head_sha256": head.digest(),
        "chosen": best["label"],
        "chosen_candidate": best["candidate"],
        "cv": {
            "folds": n_folds,
            "grouped_by": "prompt",
            "selection": "highest pooled out-of-fold Spearman",
            "threshold_for_roc_auc": TOXIC_THRESHOLD,
            "results": [{k: v for k, v in r.items()} for r in cv],
        },
        "data": {
            "files": data.files,
            "digest": digest,
            "n_texts": len(data.texts),
            "n_prompts": n_groups,
            "skipped_null_toxicity": data.skipped_null,
            "skipped_empty": data.skipped_empty,
            "duplicate_records": data.duplicates,
            "limit": limit,
            "target": "Perspective API TOXICITY (2020 model versions) of RTP prompts and continuations",
        },
        "features": FEATURE_VERSION,
        "command": "alignbench toxicity train"
        + (f" --limit {limit}" if limit else "")
        + (f" --folds {n_folds}" if n_folds != 5 else ""),
    }
    if out is not False:
        path = Path(out) if out else default_head_path()
        head.save(path)
        path.with_name(path.name.replace(".safetensors", "") + ".json").write_text(
            json.dumps(card, indent=2, sort_keys=True) + "\n"
        )
        log(f"wrote {path} (sha256 {card['head_sha256'][:16]}) and its card")
    return TrainResult(head=head, card=card, cv=cv)
