// Hugging Face checkpoints: a directory with config.json + model.safetensors (or sharded
// model.safetensors.index.json), LlamaForCausalLM tensor names, F32/F16/BF16. A bare .safetensors without
// those names is the plain MLP family (core/formats/mlp_safetensors.h).
#pragma once
#include <string>

#include "core/formats/mlp_safetensors.h"  // save_mlp_safetensors, for existing callers
#include "core/formats/model_file.h"

namespace resid {

// `path` may be the directory, its config.json, model.safetensors or the index json.
LoadedModel load_hf_checkpoint(const std::string& path);

// A bare .safetensors file: a Llama model if it has LlamaForCausalLM names and a config.json beside it,
// otherwise a plain MLP (Linear layers ordered by the number in their name).
LoadedModel load_safetensors_file(const std::string& path);

// Writes config.json (Hugging Face LlamaConfig keys plus resid's own) and model.safetensors into `dir`.
// Interleaved-rotary q/k rows are permuted to Hugging Face's rotate-half layout, so transformers loads it
// too.
void save_hf_checkpoint(const std::string& dir, const Config& config, const TransformerWeights& weights,
                        DType dtype = DType::F32);

// The same checkpoint split over `n_shards` files model-0000K-of-0000N.safetensors plus
// model.safetensors.index.json (weight_map), as transformers writes large models. Removes a model.safetensors
// left in `dir` by an earlier save, since loaders prefer it over the index.
void save_hf_checkpoint_sharded(const std::string& dir, const Config& config,
                                const TransformerWeights& weights, int n_shards, DType dtype = DType::F32);

// The q/k row permutation between resid's Interleaved rotary layout and Hugging Face's rotate-half layout
// (transformers' convert_llama_weights_to_hf.py applies the first; llama.cpp's convert_hf_to_gguf.py permute
// is the second). `w` holds n_heads blocks of d_head rows; within a head, with half = d_head / 2, i in [0,
// half) and j in {0, 1}:
//   half-layout row  j * half + i   ==   interleaved row  2 * i + j
// so the pair rotated together, (x[2i], x[2i+1]) interleaved, becomes (x[i], x[i + half]). Columns are
// untouched. Throws InputError if the rows do not split into n_heads heads of even width.
Tensor qk_rows_interleaved_to_half(const Tensor& w, int n_heads);
Tensor qk_rows_half_to_interleaved(const Tensor& w, int n_heads);

}  // namespace resid
