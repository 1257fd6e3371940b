"""The language-model probe of the distilled TruthfulQA judges: what a small LM's hidden states say about an answer.

For answer a to question q, run the project's built-in SmolLM2-135M-Instruct (fp32, no fine-tuning) over the text
"Q: {q}\nA: {a}" and read its hidden states (the outputs of decoder layers, of 30) as PROBE_STATES says:

    h(q, a) = concatenation over (L, pooling) in PROBE_STATES of
              "mean": the mean over a's tokens of layer L's states,  "last": layer L's state at the last token

Unlike the MiniLM features (each text embedded alone, compared by cosine), h reads the answer in the context of its
question, a cross-encoding: answers a bi-encoder places side by side ("No, sharks do not get cancer" / "Yes, sharks
can get cancer") can part there.  The probe is logistic regression on standardised h,

    z(q, a) = w . (h - mu) / sigma + b        (L2 penalty, C = PROBE_C; scikit-learn's LogisticRegression)

fitted to the judge's training labels; z (a logit) is the judge's scalar feature `lm_probe`, one input of the trees
beside the reference and bank features.

Cross-fitting: a training row's feature must not come from a probe that saw the row's own label, or the trees learn
to trust a value that is a fit on that very row.  So training rows get out-of-fold values: K folds over the rows,
each fold's z from a probe fitted on the other folds (scikit-learn's cross_val_predict); a new answer is scored by
the probe fitted on all training rows, which is what the head ships (mu, sigma, w, b).

The same states also place the answer among the question's human-labelled answers (the judge's bank, read so far
through MiniLM cosines): an LM space, fitted once on the states of all labelled answers (no labels used),

    u(q, a) = P ((h - mu) / sigma) / || P ((h - mu) / sigma) ||      P: the top LM_SPACE_DIM principal axes

and the bank features of truthfulqa_features.py computed with cos_LM(a, b) = u(q, a) . u(q, b) in place of the
MiniLM cosine (the `lm_bank_*` columns): neighbours by states that read each answer after its question, where
MiniLM embeds it alone (the gain is measured, docs/truthfulqa_judges.md; why it helps is not).

Hand-written here: only the hidden-state pooling (transformers returns the states; what to pool is ours).
Principal axes: scikit-learn's PCA.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PROBE_MODEL = "smollm2-135m"
# which states, chosen by the judges' CV over human-labelled answers (docs/truthfulqa_judges.md)
PROBE_STATES: tuple[tuple[int, str], ...] = ((16, "mean"), (22, "last"))
PROBE_C = 0.03
PROBE_FOLDS = 5
HIDDEN = 576
STATE_DIM = HIDDEN * len(PROBE_STATES)
PROBE_VERSION = "lm-probe-1({},{},fp32)".format(PROBE_MODEL, "+".join(f"L{n}-{pool}" for n, pool in PROBE_STATES))
LM_SPACE_DIM = 64  # 64 of 128 / 1,152 (all) measured equal by the judges' CV (docs/truthfulqa_judges.md)
LM_SPACE_VERSION = f"lm-space-1({PROBE_VERSION},pca{LM_SPACE_DIM})"
MAX_TOKENS = 160  # "Q: ...\nA: ..." cut here: TruthfulQA answers judged are sentences, not essays


def probe_text(question: str, answer: str) -> tuple[str, str]:
    """(prefix, full text): the answer's tokens are those after the prefix."""
    return f"Q: {question}\nA:", f"Q: {question}\nA: {answer}"


_LM = None


def _lm():
    """(model, tokenizer) of the built-in SmolLM2, loaded once per process."""
    global _LM
    if _LM is None:
        from alignbench.models.spec import default_device, load_model

        _LM = load_model(PROBE_MODEL, dtype="float32", device=default_device())
    return _LM


def lm_states(questions: list[str], answers: list[str], batch_size: int = 16, log=None) -> np.ndarray:
    """h(q, a) of every pair, (n, STATE_DIM) float32.  Pairs run in batches of similar length (sorted, right-padded
    under an attention mask), the order fixed by the texts alone, so the same pairs give the same numbers."""
    import torch

    model, tok = _lm()
    device = next(model.parameters()).device
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    prefix_len, ids = [], []
    for q, a in zip(questions, answers):
        prefix, full = probe_text(str(q), str(a))
        prefix_len.append(len(tok(prefix)["input_ids"]))
        ids.append(tok(full)["input_ids"][:MAX_TOKENS])
    out = np.zeros((len(ids), STATE_DIM), dtype=np.float32)
    order = np.argsort([len(x) for x in ids], kind="stable")
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(ids[i]) for i in rows)
            batch = torch.full((len(rows), width), pad, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for j, i in enumerate(rows):
                batch[j, : len(ids[i])] = torch.tensor(ids[i])
                mask[j, : len(ids[i])] = 1
            # hidden_states[0] is the embedding output, [L] the output of decoder layer L
            states = model(input_ids=batch.to(device), attention_mask=mask.to(device), output_hidden_states=True)
            for k, (number, pooling) in enumerate(PROBE_STATES):
                layer = states.hidden_states[number].float().cpu().numpy()
                for j, i in enumerate(rows):
                    n = len(ids[i])
                    first = min(prefix_len[i], n - 1)  # an empty answer pools its last token
                    pooled = layer[j, first:n].mean(axis=0) if pooling == "mean" else layer[j, n - 1]
                    out[i, k * HIDDEN : (k + 1) * HIDDEN] = pooled
            if log and start // batch_size % 200 == 0 and start:
                log(f"  LM states: {start}/{len(ids)}")
    return out


_LAST: tuple[tuple, np.ndarray] | None = None


def shared_lm_states(questions: list[str], answers: list[str]) -> np.ndarray:
    """lm_states() of the pairs, reusing the previous call's result when it asked for the very same pairs: the truth
    and the info judge score the same answers one after the other (truthfulqa_gen, the release import), and SmolLM2
    would otherwise run twice over them.  Only the last call is kept, so memory stays one batch of states."""
    global _LAST
    key = tuple(zip(map(str, questions), map(str, answers)))
    if _LAST is None or _LAST[0] != key:
        _LAST = (key, lm_states([q for q, _ in key], [a for _, a in key]))
    return _LAST[1]


def cached_lm_states(questions: list[str], answers: list[str], cache: Path | None = None, log=None) -> np.ndarray:
    """lm_states(), kept on disk (~20 minutes for the judge data's 18k pairs on 2 cores): the distinct pairs, sorted,
    under their digest and PROBE_VERSION -- one file for the truth and the info data, which list the same pairs in
    other orders."""
    from alignbench.config import cache_dir

    folder = Path(cache) if cache is not None else cache_dir() / "truthfulqa-judge-features"
    folder.mkdir(parents=True, exist_ok=True)
    pairs = sorted(set(zip(map(str, questions), map(str, answers))))
    digest = hashlib.sha256(PROBE_VERSION.encode())
    for pair in pairs:
        digest.update(json.dumps(pair).encode())
    path = folder / f"lmstates-{digest.hexdigest()[:20]}.npy"
    out = np.load(path, allow_pickle=False) if path.is_file() else None
    if out is None or out.shape != (len(pairs), STATE_DIM):
        if log:
            log(f"{PROBE_MODEL} hidden states of {len(pairs)} (question, answer) pairs (cached at {path})")
        out = lm_states([q for q, _ in pairs], [a for _, a in pairs], log=log)
        tmp = path.with_name(path.name + ".tmp.npy")
        np.save(tmp, out, allow_pickle=False)
        tmp.replace(path)
    row = {pair: i for i, pair in enumerate(pairs)}
    return out[[row[pair] for pair in zip(map(str, questions), map(str, answers))]]


@dataclass
class LinearProbe:
    """z = w . (h - mean) / scale + b."""

    mean: np.ndarray
    scale: np.ndarray
    weight: np.ndarray
    bias: float

    def logit(self, states: np.ndarray) -> np.ndarray:
        return ((np.asarray(states, dtype=np.float64) - self.mean) / self.scale) @ self.weight + self.bias

    def tensors(self) -> dict:
        return {
            "probe.mean": self.mean,
            "probe.scale": self.scale,
            "probe.weight": self.weight,
            "probe.bias": np.array([self.bias]),
        }

    @classmethod
    def from_tensors(cls, t: dict) -> LinearProbe | None:
        if "probe.weight" not in t:
            return None
        return cls(t["probe.mean"], t["probe.scale"], t["probe.weight"], float(t["probe.bias"][0]))


def _pipeline():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=PROBE_C, max_iter=1000))


def fit_probe(states: np.ndarray, y: np.ndarray) -> LinearProbe:
    """The probe fitted on all rows (what a head ships)."""
    pipe = _pipeline().fit(states, y)
    scaler, lr = pipe[0], pipe[1]
    scale = scaler.scale_.copy()
    scale[scale == 0] = 1.0
    return LinearProbe(scaler.mean_.copy(), scale, lr.coef_[0].copy(), float(lr.intercept_[0]))


def cross_fit(states: np.ndarray, y: np.ndarray, folds: int = PROBE_FOLDS, seed: int = 0) -> np.ndarray:
    """Out-of-fold z of every training row: no row's value comes from a probe that saw its label."""
    from sklearn.model_selection import KFold, cross_val_predict

    folds = min(folds, len(y))
    return cross_val_predict(
        _pipeline(), states, y, cv=KFold(folds, shuffle=True, random_state=seed), method="decision_function"
    )


@dataclass
class LMSpace:
    """u = unit(components . (h - mean) / scale): where an answer's states sit among the labelled answers'."""

    mean: np.ndarray  # (STATE_DIM,)
    scale: np.ndarray  # (STATE_DIM,)
    components: np.ndarray  # (LM_SPACE_DIM, STATE_DIM)

    def unit(self, states: np.ndarray) -> np.ndarray:
        z = ((np.asarray(states, dtype=np.float64) - self.mean) / self.scale) @ self.components.T
        norm = np.linalg.norm(z, axis=1, keepdims=True)
        return (z / np.where(norm > 0, norm, 1.0)).astype(np.float32)

    def tensors(self) -> dict:
        return {"lm_space.mean": self.mean, "lm_space.scale": self.scale, "lm_space.components": self.components}

    @classmethod
    def from_tensors(cls, t: dict) -> LMSpace | None:
        if "lm_space.components" not in t:
            return None
        return cls(*(np.asarray(t[f"lm_space.{k}"], dtype=np.float64) for k in ("mean", "scale", "components")))


def fit_lm_space(states: np.ndarray, dim: int = LM_SPACE_DIM) -> LMSpace:
    """The LM space of the labelled answers' states: standardise, then their top `dim` principal axes (full SVD,
    deterministic signs -- same states, same space)."""
    from sklearn.decomposition import PCA

    states = np.asarray(states, dtype=np.float64)
    mean, scale = states.mean(axis=0), states.std(axis=0)
    scale[scale == 0] = 1.0
    dim = min(dim, *states.shape)
    pca = PCA(dim, svd_solver="full").fit((states - mean) / scale)
    # PCA centres again (mean ~0 after standardising); fold its mean in so unit() is one affine map.  Rounded to
    # float32, as the bank stores it: training then reads exactly the space that scoring reads
    f32 = lambda a: np.asarray(a, dtype=np.float32).astype(np.float64)
    return LMSpace(f32(mean + pca.mean_ * scale), f32(scale), f32(pca.components_))
