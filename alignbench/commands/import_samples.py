"""`alignbench import instructgpt-samples DIR --out RUN_DIR`: the paper's released samples as one run.

Every policy of OpenAI's `automatic-eval-samples/` CSVs becomes a model of the run, scored with this project's
metrics (alignbench/evals/instructgpt_samples.py); `alignbench report RUN_DIR` then renders policy x size tables.
"""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("import", help="import released samples as a run (instructgpt-samples)")
    isub = p.add_subparsers(dest="import_command", metavar="SOURCE", required=True)
    q = isub.add_parser(
        "instructgpt-samples",
        help="OpenAI's InstructGPT/SFT/GPT-3 samples (DROP, SQuAD v2, Fr->En, TL;DR, TruthfulQA, RTP)",
        description="DIR: a folder of the release's CSVs (.csv or .csv.gz), e.g. "
        "$ALIGNBENCH_SHARED_DATA/instructgpt-samples.",
    )
    q.add_argument("folder", metavar="DIR")
    q.add_argument("--out", required=True, metavar="RUN_DIR", help="run folder to write run.sqlite into")
    q.add_argument(
        "--no-judges",
        action="store_true",
        help="skip our TruthfulQA judges and toxicity scorer (only the released judgements)",
    )
    q.add_argument(
        "--toxicity-scorer",
        default="distilled-perspective",
        help="toxicity scorer spec for RTP samples (default: distilled-perspective, offline)",
    )
    q.set_defaults(handler=_import)


def _import(args) -> int:
    from alignbench.evals.instructgpt_samples import import_samples

    kwargs = {}
    if args.no_judges:
        kwargs = {"truth_judge": False, "info_judge": False, "toxicity_scorer": False}
    elif args.toxicity_scorer != "distilled-perspective":
        from alignbench.scorers.toxicity import get_toxicity_scorer

        kwargs["toxicity_scorer"] = get_toxicity_scorer(args.toxicity_scorer)
    summary = import_samples(args.folder, args.out, **kwargs)
    for name, (kind, n) in summary["files"].items():
        print(f"{name:28s} {kind:11s} {n} rows")
    for name, stats in summary["agreement"].items():
        if stats["n"] == 0:
            print(
                f"agreement {name}: no sample outside the judge's training data (it was trained on these; its card's "
                f"release check is the held-out figure)"
            )
            continue
        per = "% judged yes" if stats["policy_stat"] == "verdict" else "mean score"
        lo, hi = stats["balanced_accuracy_ci"]
        print(
            f"agreement {name}: n {stats['n']}, Spearman {stats['spearman']:.3f}, balanced accuracy "
            f"{stats['balanced_accuracy']:.3f} [{lo:.3f}, {hi:.3f}], Kendall tau of the {stats['n_policies']} "
            f"policies' {per} {stats['kendall_tau_policies']:.3f}; {len(stats['order_swaps'])} pair(s) ordered "
            f"oppositely, {stats['significant_order_swaps']} of them among the {stats['significant_policy_pairs']} "
            f"pairs {stats['theirs']} separates itself"
        )
    print(f"run {summary['run_id']} in {args.out}; report: alignbench report {args.out}")
    return 0
