// GGUF files holding a llama-architecture model (llama.cpp's names and metadata keys) with F32, F16, BF16 and
// Q8_0 tensors; hyper-parameters and the SentencePiece vocabulary come from the metadata. The container
// itself (parsing, GgufFile, GgufWriter) is core/formats/gguf_file.h.
#pragma once
#include <memory>
#include <string>

#include "core/formats/gguf_file.h"
#include "core/formats/model_file.h"

namespace resid {

// Loads weights, config and the embedded tokenizer (if the metadata has one).
LoadedModel load_gguf(const std::string& path);

// Loads only the tokenizer from a GGUF file's metadata (works on vocab-only files).
std::unique_ptr<Tokenizer> load_gguf_tokenizer(const std::string& path);

// Writes a llama-architecture GGUF v3 file (tensor data as `dtype`: F32, F16 or Q8_0; BF16 is accepted too),
// with the tokenizer's vocabulary in the metadata when one is given. Permutes Half-style q/k rows to GGUF's
// interleaved convention. 1-D tensors (norms) are always F32, as llama.cpp stores them; with Q8_0, matrices
// whose rows are not a multiple of 32 long are stored as F16 (llama.cpp's fallback). Writes a temporary file
// in the same directory and renames it over `path`. Throws InputError for configs GGUF's llama cannot express
// (non-SwiGLU FFNs) or a tokenizer without SentencePiece scores, FormatError naming `path` when writing
// fails.
void write_gguf(const std::string& path, const Config& config, const TransformerWeights& weights,
                const Tokenizer* tokenizer = nullptr, DType dtype = DType::F32);

}  // namespace resid
