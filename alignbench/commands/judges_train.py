"""`alignbench judges train truthfulqa --aspect truth|info [--out DIR]`: rebuild the distilled TruthfulQA judges
(alignbench/judges/truthfulqa_train.py) from the shared TruthfulQA judge data; prints the CV table."""

from __future__ import annotations


def add_train(jsub) -> None:
    p = jsub.add_parser("train", help="train a shipped offline judge (truthfulqa: truth or info)")
    p.add_argument("target", choices=["truthfulqa"], help="which judge to train")
    p.add_argument("--aspect", required=True, choices=["truth", "info"])
    p.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="folder for the head, its card and the bank (default: the package's resources/judges)",
    )
    p.add_argument(
        "--source",
        default=None,
        metavar="DIR",
        help="TruthfulQA data folder (default: $ALIGNBENCH_SHARED_DATA/truthfulqa)",
    )
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--limit", type=int, default=None, help="first N distinct (question, answer) pairs only")
    p.add_argument("--cache", default=None, metavar="DIR", help="feature cache folder (default: alignbench cache)")
    p.add_argument(
        "--release",
        default=None,
        metavar="FILE",
        help="the InstructGPT release's truthful_qa_samples.csv (openai/following-instructions-human-feedback, "
        "automatic-eval-samples/): its samples, labelled by the released GPT-judge / GPT-info values, become training "
        "rows, and the card records agreement on held-out questions' samples",
    )
    p.add_argument(
        "--release-use",
        default="train",
        choices=["train", "check"],
        help="train (default): the release's samples are training rows too; check: they are only scored",
    )
    p.set_defaults(handler=_train)


def _train(args) -> int:
    from alignbench.judges.truthfulqa_train import train_truthfulqa_judge

    train_truthfulqa_judge(
        args.aspect,
        out=args.out,
        source=args.source,
        n_folds=args.folds,
        limit=args.limit,
        cache=args.cache,
        log=lambda s: print(s, flush=True),
        release=args.release,
        release_use=args.release_use,
    )
    return 0
