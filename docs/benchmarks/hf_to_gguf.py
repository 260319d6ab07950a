#!/usr/bin/env python3
"""Writes an fp32 GGUF (llama architecture) from a Hugging Face Llama checkpoint directory (config.json +
model.safetensors), with llama.cpp's gguf-py writer directly: convert_hf_to_gguf.py needs torch and a real tokenizer,
neither of which a random-weight checkpoint has. Same tensor mapping and q/k permutation as convert_hf_to_gguf.py's
LlamaModel. The vocabulary is a SentencePiece-style table of the model's size (<unk>, <s>, </s>, 256 byte tokens,
then '▁t<id>' fillers): it only has to load, llama-batched-bench feeds token ids; a character of a text prompt
becomes its byte token (id 3 + byte), so greedy continuations can be compared with Rollout's on the same ids.

Usage: PYTHONPATH=llama.cpp/gguf-py python3 hf_to_gguf.py CHECKPOINT_DIR OUT.gguf"""
import json, struct, sys
from pathlib import Path
import numpy as np

# gguf-py imports sentencepiece for vocabularies this script does not use; a stand-in spares installing it.
try:
    import sentencepiece  # noqa: F401
except ImportError:
    import types
    sys.modules["sentencepiece"] = types.SimpleNamespace(SentencePieceProcessor=None)
import gguf  # noqa: E402  (llama.cpp's gguf-py: PYTHONPATH=llama.cpp/gguf-py)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        assert meta["dtype"] == "F32", f"{name}: {meta['dtype']} (only F32 checkpoints)"
        a, b = meta["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=np.float32).reshape(meta["shape"])
    return out


def permute(w, n_head, n_head_kv):
    # HF's q/k rows are ordered for rotate-half RoPE; llama.cpp's llama architecture rotates adjacent pairs.
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def main(src, dst):
    src = Path(src)
    c = json.loads((src / "config.json").read_text())
    t = read_safetensors(src / "model.safetensors")
    n_head, n_kv, L = c["num_attention_heads"], c["num_key_value_heads"], c["num_hidden_layers"]
    head_dim = c.get("head_dim", c["hidden_size"] // n_head)
    assert head_dim * n_head == c["hidden_size"], "llama.cpp's llama graph assumes head_dim = hidden / heads"
    w = gguf.GGUFWriter(dst, "llama")
    w.add_name(src.name)
    w.add_context_length(c["max_position_embeddings"])
    w.add_embedding_length(c["hidden_size"])
    w.add_block_count(L)
    w.add_feed_forward_length(c["intermediate_size"])
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(c["rope_theta"])
    w.add_layer_norm_rms_eps(c["rms_norm_eps"])
    w.add_vocab_size(c["vocab_size"])
    w.add_file_type(gguf.LlamaFileType.ALL_F32)

    vocab = c["vocab_size"]
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL] + [gguf.TokenType.BYTE] * 256
    tokens += [f"\u2581t{i}" for i in range(len(tokens), vocab)]
    types += [gguf.TokenType.NORMAL] * (vocab - len(types))
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * vocab)
    w.add_token_types(types)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(False)
    w.add_add_space_prefix(False)

    w.add_tensor("token_embd.weight", t["model.embed_tokens.weight"])
    w.add_tensor("output_norm.weight", t["model.norm.weight"])
    if "lm_head.weight" in t and not c.get("tie_word_embeddings", False):
        w.add_tensor("output.weight", t["lm_head.weight"])
    names = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
             "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down"}
    for i in range(L):
        for hf, gg in names.items():
            x = t[f"model.layers.{i}.{hf}.weight"]
            if hf == "self_attn.q_proj":
                x = permute(x, n_head, n_head)
            elif hf == "self_attn.k_proj":
                x = permute(x, n_head, n_kv)
            w.add_tensor(f"blk.{i}.{gg}.weight", np.ascontiguousarray(x))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"wrote {dst}: {sum(x.size for x in t.values())} parameters, vocab {vocab}, fp32")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: hf_to_gguf.py CHECKPOINT_DIR OUT.gguf")
    main(sys.argv[1], sys.argv[2])
