// Hugging Face checkpoints: a directory with config.json + model.safetensors (or sharded
// model.safetensors.index.json), LlamaForCausalLM tensor names, F32/F16/BF16. Also the plain MLP family stored as
// a bare .safetensors of <prefix>N.weight / <prefix>N.bias Linear layers (e.g. fc1, fc2).
#pragma once
#include <string>

#include "core/formats/model_file.h"

namespace resid {

// `path` may be the directory, its config.json, model.safetensors or the index json.
LoadedModel load_hf_checkpoint(const std::string& path);

// A bare .safetensors file: a Llama model if it has LlamaForCausalLM names and a config.json beside it,
// otherwise a plain MLP (Linear layers ordered by the number in their name).
LoadedModel load_safetensors_file(const std::string& path);

// Writes config.json (Hugging Face LlamaConfig keys plus resid's own) and model.safetensors into `dir`.
// Interleaved-rotary q/k rows are permuted to Hugging Face's rotate-half layout, so transformers loads it too.
void save_hf_checkpoint(const std::string& dir, const Config& config, const TransformerWeights& weights,
                        DType dtype = DType::F32);

// Writes an MLP as fc1.weight, fc1.bias, ... with a small config.json-free metadata block.
void save_mlp_safetensors(const std::string& path, const Mlp& mlp);

}  // namespace resid
