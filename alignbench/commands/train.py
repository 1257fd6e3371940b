"""`alignbench train sft|rm|ppo RECIPE.yaml [--key value ...]`: the paper's three training stages.

Any recipe key can be overridden on the command line (`--learning_rate 1e-4`, `--lora.r 8`,
`--lora null`); `alignbench train show STAGE` prints the default recipe.  Each stage writes a
checkpoint folder loadable with plain transformers/peft plus `alignbench.json` (lineage).
"""

from __future__ import annotations

import argparse
import json

STAGE_HELP = {
    "sft": "supervised fine-tuning on demonstrations (TRL SFTTrainer; response-only loss; LoRA or full)",
    "rm": "the paper's K-way ranking reward model (K=2..9 per prompt, one batch element per prompt)",
    "ppo": "PPO-ptx: PPO against the RM with a KL penalty to the SFT policy plus gamma * pretraining LM loss",
}


class _OverridesParser(argparse.ArgumentParser):
    """Keeps unknown `--key value` pairs (recipe overrides) in `args.args` instead of rejecting them."""

    def parse_known_args(self, args=None, namespace=None):
        args = list(args or [])
        if "args" not in self._defaults or "-h" in args or "--help" in args:
            return super().parse_known_args(args, namespace)
        namespace = namespace if namespace is not None else argparse.Namespace()
        for key, value in self._defaults.items():
            setattr(namespace, key, value)
        namespace.args = args  # [RECIPE] --key value ...: parsed by recipes.parse_overrides
        return namespace, []


def register(sub) -> None:
    p = sub.add_parser("train", help="train SFT, the K-way reward model, or PPO-ptx from a YAML recipe")
    tsub = p.add_subparsers(dest="train_stage", metavar="STAGE", required=True, parser_class=_OverridesParser)
    for stage, text in STAGE_HELP.items():
        s = tsub.add_parser(
            stage,
            help=text,
            description=text + ".  Unknown --key value pairs override recipe keys "
            "(alignbench keys or trainer-config fields).",
        )
        s.add_argument(
            "args",
            nargs=argparse.REMAINDER,
            metavar="[RECIPE.yaml] [--key value ...]",
            help="recipe YAML (default: the shipped training/"
            + {"sft": "sft", "rm": "rm", "ppo": "ppo_ptx"}[stage]
            + ".yaml), then --key value pairs overriding recipe keys; also --resume [CHECKPOINT] "
            "(continue from the last checkpoint in output_dir) and --dry-run (print the resolved "
            "recipe and exit)",
        )
        s.set_defaults(handler=_train, stage=stage, args=[])
    show = tsub.add_parser("show", help="print a stage's default recipe")
    show.add_argument("stage", choices=sorted(STAGE_HELP))
    show.set_defaults(handler=_show)


def _train(args) -> int:
    from alignbench.training import trainer_config_class
    from alignbench.training.recipes import default_recipe_path, load_recipe, parse_overrides, resolve_recipe

    rest = list(args.args)
    recipe_arg = rest.pop(0) if rest and not rest[0].startswith("--") else None
    overrides = parse_overrides(rest)
    dry_run = bool(overrides.pop("dry_run", False))
    recipe_path = recipe_arg or default_recipe_path(args.stage)
    recipe = load_recipe(recipe_path, overrides)
    if dry_run:
        resolved = resolve_recipe(args.stage, recipe, trainer_config_class(args.stage), where=str(recipe_path))
        print(json.dumps(resolved.to_dict(), indent=2, default=str))
        return 0
    from alignbench.training import train_ppo_ptx, train_reward_model, train_sft

    train = {"sft": train_sft, "rm": train_reward_model, "ppo": train_ppo_ptx}[args.stage]
    result = train(recipe)
    print(json.dumps({"checkpoint": str(result.output_dir), "metrics": result.metrics}, indent=2, default=str))
    return 0


def _show(args) -> int:
    from alignbench.training.recipes import default_recipe_path

    print(default_recipe_path(args.stage).read_text())
    return 0
