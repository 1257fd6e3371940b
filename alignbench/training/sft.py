"""Stage 1 of the paper: supervised fine-tuning on labeler demonstrations.

TRL's SFTTrainer does all of it: demonstrations become prompt-completion rows (chat messages when the
tokenizer has a chat template), and for prompt-completion data TRL masks the prompt tokens out of the
labels (`completion_only_loss`), so the loss is on the response only.  LoRA via peft or full
fine-tuning; a LoRA run is saved merged by default so the RM and PPO stages load a plain folder.
"""

from __future__ import annotations

from pathlib import Path

from datasets import Dataset
from transformers import set_seed
from trl import SFTConfig, SFTTrainer

from alignbench.data import Demonstration
from alignbench.models import load_model
from alignbench.models.chat_format import format_prompt, use_chat_template
from alignbench.progress import trainer_callback
from alignbench.training.common import TrainResult
from alignbench.training.datasets import load_train_eval
from alignbench.training.lineage import read_lineage, write_lineage
from alignbench.training.recipes import freeze_lower_layers, load_recipe, lora_config, resolve_recipe


def demonstrations_to_dataset(demos: list[Demonstration], tokenizer, chat: bool):
    """prompt-completion rows TRL understands (conversational when `chat`)."""
    if chat:
        rows = {
            "prompt": [d.chat() for d in demos],
            "completion": [[{"role": "assistant", "content": d.response}] for d in demos],
        }
    else:
        rows = {
            "prompt": [format_prompt(tokenizer, d.chat() if d.messages else d.prompt, False) for d in demos],
            "completion": [d.response for d in demos],
        }
    return Dataset.from_dict(rows)


def make_sft_trainer(
    model,
    tokenizer,
    args,
    demos: list[Demonstration],
    held_out: list[Demonstration] | None = None,
    chat: bool = True,
    peft_config=None,
):
    """TRL SFTTrainer on demonstrations (prompt-completion rows: the loss is on the completion only)."""
    callback = trainer_callback("sft")  # progress lines in logs (None on a terminal)
    return SFTTrainer(
        model=model,
        args=args,
        processing_class=tokenizer,
        train_dataset=demonstrations_to_dataset(demos, tokenizer, chat),
        eval_dataset=demonstrations_to_dataset(held_out, tokenizer, chat) if held_out else None,
        peft_config=peft_config,
        callbacks=[callback] if callback else None,
    )


def train_sft(recipe: str | Path | dict | None = None, **overrides) -> TrainResult:
    """Supervised fine-tuning from a recipe (path or dict) and/or keyword overrides.

    Keys: model, train_data (demonstrations), eval_data or eval_fraction, lora, merge_lora, freeze_layers,
    chat_template, limit, resume, and any TRL SFTConfig field (learning_rate, num_train_epochs,
    per_device_train_batch_size, max_length, packing, ...).
    """
    resolved = resolve_recipe("sft", load_recipe(recipe, overrides), SFTConfig)
    opts, args = resolved.options, resolved.args
    set_seed(args.seed)
    model, tokenizer = load_model(opts["model"], task="causal-lm")
    freeze_lower_layers(model, opts.get("freeze_layers"))
    chat = use_chat_template(tokenizer, opts.get("chat_template"))

    demos, held_out, datasets = load_train_eval(opts, "demonstration", args.seed)

    lora = lora_config(opts.get("lora"), "CAUSAL_LM")
    trainer = make_sft_trainer(model, tokenizer, args, demos, held_out, chat, lora)
    train_output = trainer.train(resume_from_checkpoint=opts.get("resume") or None)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    metrics = {
        "train_loss": train_output.training_loss,
        "train_steps": train_output.global_step,
        "first_logged_loss": losses[0] if losses else None,
        "last_logged_loss": losses[-1] if losses else None,
        "train_runtime_s": train_output.metrics.get("train_runtime"),
    }
    if held_out:
        metrics.update({k: v for k, v in trainer.evaluate().items() if k in ("eval_loss", "eval_mean_token_accuracy")})

    model = trainer.model
    if opts.get("lora") and opts.get("merge_lora", True):
        model = model.merge_and_unload()
    out = Path(args.output_dir)
    if trainer.accelerator.is_main_process:
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
        write_lineage(
            out,
            stage="sft",
            parent_spec=opts["model"],
            config=resolved.to_dict(),
            datasets=datasets,
            metrics=metrics,
            extra={"chat_template": chat},
        )
    trainer.accelerator.wait_for_everyone()
    return TrainResult(out, metrics, read_lineage(out) or {})
