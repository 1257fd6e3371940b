-- The results store: one SQLite file per run folder (run.sqlite).  Evals, the generation cache,
-- resume, reports and compare all read and write these tables; nothing else holds results.

CREATE TABLE IF NOT EXISTS runs (
    run_id            TEXT PRIMARY KEY,
    created_at        TEXT NOT NULL,
    command           TEXT NOT NULL,            -- eval | train-sft | train-rm | train-ppo | demo ...
    suite             TEXT,                     -- suite name or path
    config_json       TEXT NOT NULL DEFAULT '{}',
    seed              INTEGER,
    package_versions  TEXT NOT NULL DEFAULT '{}',
    git_revision      TEXT,
    status            TEXT NOT NULL DEFAULT 'running',   -- running | done | failed | interrupted
    finished_at       TEXT,
    error             TEXT                      -- failed: the exception, one line
);

-- Every model a run touched: candidates, baselines, judges.  `role` says which.
CREATE TABLE IF NOT EXISTS models (
    run_id       TEXT NOT NULL REFERENCES runs(run_id),
    name         TEXT NOT NULL,                 -- the label used in tables (spec or --name)
    spec         TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    role         TEXT NOT NULL,                 -- candidate | baseline | judge | policy ...
    info_json    TEXT NOT NULL DEFAULT '{}',    -- params, size, lineage summary
    PRIMARY KEY (run_id, name)
);

-- The items an eval saw, with the fingerprint of the data set they came from.
CREATE TABLE IF NOT EXISTS items (
    run_id               TEXT NOT NULL REFERENCES runs(run_id),
    eval                 TEXT NOT NULL,
    item_id              TEXT NOT NULL,
    dataset              TEXT,
    dataset_fingerprint  TEXT,
    payload_json         TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, eval, item_id)
);

-- The generation cache.  The key is sha256(model fingerprint, prompt, canonical decoding params,
-- sample index), so a rerun, a resumed run and two suites sharing prompts all hit the same rows.
CREATE TABLE IF NOT EXISTS generations (
    gen_key            TEXT PRIMARY KEY,
    model_fingerprint  TEXT NOT NULL,
    prompt             TEXT NOT NULL,
    decoding_json      TEXT NOT NULL,
    sample_index       INTEGER NOT NULL,
    seed               INTEGER,
    text               TEXT NOT NULL,
    n_tokens           INTEGER,
    finish_reason      TEXT,
    created_at         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS generations_by_model ON generations(model_fingerprint);

-- Judgements and per-sample scores: who judged, raw output, verdict (A | B | tie) or a score.
CREATE TABLE IF NOT EXISTS judgements (
    judgement_key  TEXT PRIMARY KEY,            -- sha256(judge id, inputs): also a cache key
    run_id         TEXT,
    eval           TEXT,
    item_id        TEXT,
    model          TEXT,                        -- the model whose output was judged ('' for pairwise)
    sample_index   INTEGER NOT NULL DEFAULT 0,
    judge          TEXT NOT NULL,
    verdict        TEXT,
    score          REAL,
    raw            TEXT,
    meta_json      TEXT NOT NULL DEFAULT '{}',
    created_at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS judgements_by_item ON judgements(run_id, eval, item_id);

-- Per-item values of a metric (win = 1/0.5/0, correct = 1/0, max toxicity ...): what compare's
-- paired bootstrap resamples, and what a report's sample view shows.
CREATE TABLE IF NOT EXISTS item_metrics (
    run_id   TEXT NOT NULL,
    eval     TEXT NOT NULL,
    metric   TEXT NOT NULL,
    model    TEXT NOT NULL,
    item_id  TEXT NOT NULL,
    value    REAL,
    PRIMARY KEY (run_id, eval, metric, model, item_id)
);

-- Aggregate metrics with their 95% CI.  `higher_is_better` drives tables and compare verdicts.
CREATE TABLE IF NOT EXISTS metrics (
    run_id            TEXT NOT NULL,
    eval              TEXT NOT NULL,
    metric            TEXT NOT NULL,
    model             TEXT NOT NULL,
    value             REAL,
    ci_low            REAL,
    ci_high           REAL,
    n                 INTEGER,
    higher_is_better  INTEGER,                  -- 1, 0, or NULL when neither
    meta_json         TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, eval, metric, model)
);

-- Training logs (step-wise scalars) so reports can draw curves without the trainer's files.
CREATE TABLE IF NOT EXISTS train_logs (
    run_id  TEXT NOT NULL,
    step    INTEGER NOT NULL,
    key     TEXT NOT NULL,
    value   REAL,
    PRIMARY KEY (run_id, step, key)
);

-- Sample outputs side by side, for reports: what the model saw, what it said, what it was judged.
CREATE TABLE IF NOT EXISTS samples (
    run_id      TEXT NOT NULL,
    eval        TEXT NOT NULL,
    item_id     TEXT NOT NULL,
    model       TEXT NOT NULL,                  -- the candidate
    prompt      TEXT,
    output      TEXT,
    baseline    TEXT,                           -- the baseline's output, for pairwise evals
    reference   TEXT,
    verdict     TEXT,
    score       REAL,
    meta_json   TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, eval, item_id, model)
);
