#include "core/formats/model_file.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/formats/gguf.h"
#include "core/formats/hf_checkpoint.h"
#include "core/formats/llama2c.h"
#include "core/mapped_file.h"
#include "core/tokenizer/tokenizer.h"

namespace fs = std::filesystem;

namespace resid {

namespace {
bool sniff_safetensors(const uint8_t* head, size_t size) {
  // u64 header length, then a JSON object.
  return size >= 9 && head[8] == '{';
}

// A tokenizer file next to a llama2.c checkpoint: tokenizer.bin / tokenizer.model, or llama2.c's
// tok<vocab>.bin / tok<vocab>.model naming.
std::string find_tokenizer_beside(const std::string& model_path, int vocab_size) {
  const fs::path dir = fs::path(model_path).parent_path();
  const std::string v = std::to_string(vocab_size);
  for (const std::string& name : std::vector<std::string>{"tok" + v + ".model", "tok" + v + ".bin",
                                                          "tokenizer.model", "tokenizer.bin"}) {
    const fs::path candidate = dir / name;
    if (fs::is_regular_file(candidate)) return candidate.string();
  }
  return "";
}
}  // namespace

ModelFormat detect_format(const std::string& path) {
  if (fs::is_directory(path)) return ModelFormat::Safetensors;
  if (!fs::exists(path)) throw FormatError(path, "no such file or directory");
  if (path.ends_with(".json")) return ModelFormat::Safetensors;
  auto file = MappedFile::open(path);
  const size_t n = std::min<size_t>(file->size(), 64);
  if (sniff_gguf(file->data(), n)) return ModelFormat::Gguf;
  if (sniff_safetensors(file->data(), n)) return ModelFormat::Safetensors;
  if (sniff_llama2c(file->data(), n)) return ModelFormat::Llama2c;
  throw FormatError(
      path, "not a model file resid knows (GGUF, safetensors, Hugging Face directory, llama2.c .bin)");
}

LoadedModel load_model(const std::string& path, const LoadOptions& options) {
  LoadedModel model;
  switch (detect_format(path)) {
    case ModelFormat::Gguf: model = load_gguf(path); break;
    case ModelFormat::Llama2c: model = load_llama2c(path); break;
    case ModelFormat::Safetensors:
      model = (fs::is_directory(path) || path.ends_with(".json")) ? load_hf_checkpoint(path)
                                                                  : load_safetensors_file(path);
      break;
  }
  if (!options.tokenizer_path.empty()) {
    model.tokenizer = load_tokenizer(options.tokenizer_path);
    model.tokenizer_path = options.tokenizer_path;
    model.notes.push_back("tokenizer: " + model.tokenizer->describe());
  } else if (!model.tokenizer && model.transformer) {
    const std::string found = find_tokenizer_beside(path, model.transformer->config().d_vocab);
    if (!found.empty()) {
      model.tokenizer = load_tokenizer(found);
      model.tokenizer_path = found;
      model.notes.push_back("tokenizer found beside the model: " + model.tokenizer->describe());
    }
  }
  if (model.tokenizer && model.transformer &&
      model.tokenizer->vocab_size() != model.transformer->config().d_vocab) {
    const std::string pieces = std::to_string(model.tokenizer->vocab_size()) + " pieces";
    const std::string d_vocab = "d_vocab = " + std::to_string(model.transformer->config().d_vocab);
    if (model.tokenizer_path.empty())
      throw FormatError(path,
                        "embedded tokenizer has " + pieces + " but the model's vocabulary is " + d_vocab);
    throw FormatError(model.tokenizer_path, "tokenizer has " + pieces + " but the vocabulary of the model " +
                                                path + " is " + d_vocab);
  }
  return model;
}

std::string dtypes_of(const std::vector<TensorRecord>& records) {
  std::vector<std::string> names;
  for (const TensorRecord& r : records) {
    const std::string n = dtype_name(r.dtype);
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  }
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : "+") + n;
  return out;
}

}  // namespace resid
