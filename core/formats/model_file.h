// Loading any supported checkpoint by path: the format is detected from the bytes, not the extension.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/mlp.h"
#include "core/tokenizer/tokenizer.h"
#include "core/transformer.h"

namespace resid {

enum class ModelFormat { Llama2c, Safetensors, Gguf };

// One row of `resid info`'s tensor table.
struct TensorRecord {
  std::string name;            // name in the file
  DType dtype;                 // dtype on disk
  std::vector<int64_t> shape;  // shape as stored
  bool mapped;                 // used in place from the memory map (F32) rather than converted
};
// The dtypes on disk in first-seen order, for format_detail: "F32", "BF16+F32".
std::string dtypes_of(const std::vector<TensorRecord>& records);

struct LoadedModel {
  std::string path;
  ModelFormat format;
  std::string
      format_detail;  // "llama2.c legacy", "llama2.c v1 (fp32)", "GGUF v3", "safetensors (2 shards)"...
  std::shared_ptr<const Transformer> transformer;  // set for Llama-family checkpoints
  std::shared_ptr<const Mlp> mlp;                  // set for plain MLP checkpoints
  std::shared_ptr<const Tokenizer> tokenizer;      // null when none was found
  std::string tokenizer_path;  // the file the tokenizer was read from; "" when the model file embeds it
  std::vector<TensorRecord> tensors;
  std::vector<std::string> notes;  // what the loader did: conversions, tokenizer found, defaults assumed
};

struct LoadOptions {
  std::string tokenizer_path;  // overrides discovery
};

// Sniffs the file: GGUF magic, llama2.c (legacy header or 'ak42' magic), safetensors (8-byte header length +
// JSON), or a directory / config.json of a Hugging Face checkpoint. Throws FormatError naming the path.
ModelFormat detect_format(const std::string& path);
LoadedModel load_model(const std::string& path, const LoadOptions& options = {});

}  // namespace resid
