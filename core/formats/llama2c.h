// llama2.c checkpoints: the legacy header format (7 int32: dim, hidden_dim, n_layers, n_heads, n_kv_heads,
// vocab_size (negative = separate classifier), seq_len, then fp32 weights), and the versioned export formats
// (magic 'ak42', 256-byte header; version 1 fp32, version 2 Q8_0 group-quantised).
#pragma once
#include <string>

#include "core/formats/model_file.h"

namespace resid {

enum class Llama2cVersion { Legacy = 0, V1 = 1, V2 = 2 };

// True when the first bytes look like a llama2.c checkpoint (magic 'ak42' or a plausible legacy header).
bool sniff_llama2c(const uint8_t* head, size_t size);

// Loads the weights (F32 mapped in place; Q8_0 dequantised). Does not look for a tokenizer.
LoadedModel load_llama2c(const std::string& path);

// Writes `weights` in the given version (V2 quantises with `group_size`, which must divide d_model and d_mlp).
// Requires RotaryStyle::Interleaved weights (llama2.c's convention); Half-style q/k rows are permuted back.
void write_llama2c(const std::string& path, const Config& config, const TransformerWeights& weights,
                   Llama2cVersion version = Llama2cVersion::Legacy, int group_size = 64);

}  // namespace resid
