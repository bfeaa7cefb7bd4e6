"""Real Hugging Face model directories for the model-directory tests (issue 15).

Request {op: "make", dir, max_shard_size, seed}: writes a tiny llama-shaped checkpoint the way the
HF tooling does: huggingface_hub's split_state_dict_into_shards_factory splits the state dict,
safetensors.numpy.save_file writes each shard with {"format": "pt"}, the index is written as
transformers writes it (json.dumps(indent=2, sort_keys=True) + newline), beside a config.json,
generation_config.json, a tokenizer.json made by the `tokenizers` library, tokenizer_config.json,
special_tokens_map.json and a README.md.
Response: {ok, shards: [file...], tensors: {name: {dtype, shape}}, total_size}.

Request {op: "ref_encrypt_shards", dir, out, config}: what the reference's conversion script does
to a sharded model: every shard encrypted and signed on its own with cryptotensors.serialize_file
(same config for all), the index and every other file copied unchanged.
Response: {ok, shards: [file...]} or {ok: false, error}.
"""
import json
import os
import shutil

import numpy as np
from huggingface_hub import constants
from huggingface_hub.serialization import split_state_dict_into_shards_factory
from safetensors import safe_open
from safetensors.numpy import save_file
from tokenizers import Tokenizer, models, pre_tokenizers

from ref_common import error_payload, read_request, respond

INDEX = "model.safetensors.index.json"


def state_dict(seed):
    rng = np.random.default_rng(seed)
    hidden, inter, vocab, layers = 64, 176, 96, 3
    sd = {"model.embed_tokens.weight": rng.standard_normal((vocab, hidden), dtype=np.float32)}
    for i in range(layers):
        p = f"model.layers.{i}."
        for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            sd[p + f"self_attn.{name}.weight"] = rng.standard_normal((hidden, hidden)).astype(np.float16)
        sd[p + "mlp.gate_proj.weight"] = rng.standard_normal((inter, hidden), dtype=np.float32)
        sd[p + "mlp.up_proj.weight"] = rng.standard_normal((inter, hidden), dtype=np.float32)
        sd[p + "mlp.down_proj.weight"] = rng.standard_normal((hidden, inter), dtype=np.float32)
        sd[p + "input_layernorm.weight"] = np.ones(hidden, dtype=np.float32)
    sd["model.norm.weight"] = np.ones(hidden, dtype=np.float32)
    sd["lm_head.weight"] = rng.standard_normal((vocab, hidden), dtype=np.float32)
    sd["model.rotary_emb.inv_freq_steps"] = np.arange(8, dtype=np.int64)
    return sd


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(value, indent=2, sort_keys=True) + "\n")


def make(request):
    out = request["dir"]
    os.makedirs(out)
    sd = state_dict(request.get("seed", 0))
    split = split_state_dict_into_shards_factory(
        sd,
        get_storage_size=lambda a: a.nbytes,
        filename_pattern=constants.SAFETENSORS_WEIGHTS_FILE_PATTERN,
        max_shard_size=request["max_shard_size"],
    )
    for filename, names in split.filename_to_tensors.items():
        save_file({n: sd[n] for n in names}, os.path.join(out, filename), metadata={"format": "pt"})
    if split.is_sharded:
        write_json(os.path.join(out, INDEX), {"metadata": split.metadata, "weight_map": split.tensor_to_filename})
    write_json(os.path.join(out, "config.json"), {
        "architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 176,
        "model_type": "llama", "num_attention_heads": 4, "num_hidden_layers": 3,
        "num_key_value_heads": 4, "torch_dtype": "float32", "vocab_size": 96,
    })
    write_json(os.path.join(out, "generation_config.json"), {"bos_token_id": 1, "eos_token_id": 2})
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, **{w: i + 3 for i, w in enumerate("the a model weights are encrypted".split())}}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(os.path.join(out, "tokenizer.json"))
    write_json(os.path.join(out, "tokenizer_config.json"), {"bos_token": "<s>", "eos_token": "</s>", "model_max_length": 64})
    write_json(os.path.join(out, "special_tokens_map.json"), {"bos_token": "<s>", "eos_token": "</s>"})
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as f:
        f.write("---\nlicense: apache-2.0\n---\n# tiny llama for tests\n")
    return {
        "ok": True,
        "shards": sorted(split.filename_to_tensors),
        "tensors": {n: {"dtype": str(a.dtype), "shape": list(a.shape)} for n, a in sd.items()},
        "total_size": split.metadata.get("total_size"),
    }


def ref_encrypt_shards(request):
    import cryptotensors

    src, out, config = request["dir"], request["out"], request["config"]
    shutil.copytree(src, out)
    with open(os.path.join(src, INDEX), encoding="utf-8") as f:
        shards = sorted(set(json.load(f)["weight_map"].values()))
    for shard in shards:
        path = os.path.join(src, shard)
        with safe_open(path, framework="np") as f:
            metadata = f.metadata()
            tensors = {}
            for name in f.keys():
                array = f.get_tensor(name)
                tensors[name] = {"dtype": str(array.dtype), "shape": list(array.shape), "data": array.tobytes()}
        try:
            cryptotensors.serialize_file(tensors, os.path.join(out, shard), metadata=metadata, config=config)
        except Exception as exc:  # noqa: BLE001 - the reference's failure is reported as data
            return error_payload(exc, "serialize")
    return {"ok": True, "shards": shards}


def main():
    request = read_request()
    respond({"make": make, "ref_encrypt_shards": ref_encrypt_shards}[request["op"]](request))


if __name__ == "__main__":
    main()
