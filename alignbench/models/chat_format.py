"""How a (prompt, response) becomes the text and tokens a policy or reward model sees.

Shared by every stage that trains on or scores responses (SFT, the RM, PPO-ptx) and by the reward-model
judge, so a judge scores texts exactly as the RM was trained on them: the tokenizer's chat template when it has
one (or when asked), else the prompt followed by the response and EOS.
"""

from __future__ import annotations


def use_chat_template(tokenizer, flag: bool | None) -> bool:
    """`flag` when given, else whether the tokenizer has a chat template."""
    return bool(getattr(tokenizer, "chat_template", None)) if flag is None else bool(flag)


def format_prompt(tokenizer, prompt: str | list[dict], chat: bool) -> str:
    """The prompt as the policy sees it, ending where the response starts."""
    if chat:
        messages = prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return prompt if isinstance(prompt, str) else "\n".join(m["content"] for m in prompt)


def format_pair(tokenizer, prompt: str | list[dict], response: str, chat: bool) -> str:
    """prompt + response as one text the RM scores (chat template, or plain text + EOS)."""
    if chat:
        messages = prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
        return tokenizer.apply_chat_template(messages + [{"role": "assistant", "content": response}], tokenize=False)
    return format_prompt(tokenizer, prompt, chat) + response + (tokenizer.eos_token or "")


def encode_pair(tokenizer, prompt, response: str, chat: bool, max_length: int | None) -> list[int]:
    """Token ids of prompt+response; over-long inputs lose tokens from the LEFT (the prompt's start), because
    the RM reads its score at the last token and the response must survive."""
    ids = tokenizer(format_pair(tokenizer, prompt, response, chat), add_special_tokens=False)["input_ids"]
    if max_length is not None and len(ids) > max_length:
        ids = ids[-max_length:]
    return ids
