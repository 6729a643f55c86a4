// GGUF v3 (llama.cpp): header, metadata key/values, tensor infos, aligned tensor data. The llama architecture with
// F32, F16, BF16 and Q8_0 tensors; hyper-parameters and the SentencePiece vocabulary come from the metadata.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/formats/model_file.h"
#include "core/mapped_file.h"

namespace resid {

// True for the 'GGUF' magic.
bool sniff_gguf(const uint8_t* head, size_t size);

// Loads weights, config and the embedded tokenizer (if the metadata has one).
LoadedModel load_gguf(const std::string& path);

// Loads only the tokenizer from a GGUF file's metadata (works on vocab-only files).
std::unique_ptr<Tokenizer> load_gguf_tokenizer(const std::string& path);

// Writes a llama-architecture GGUF v3 file (tensor data as `dtype`: F32, F16 or Q8_0), with the tokenizer's
// vocabulary in the metadata when one is given. Permutes Half-style q/k rows to GGUF's interleaved convention.
void write_gguf(const std::string& path, const Config& config, const TransformerWeights& weights,
                const Tokenizer* tokenizer = nullptr, DType dtype = DType::F32);

}  // namespace resid
