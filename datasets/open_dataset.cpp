// open_dataset: picks the kind, checks the options that do not depend on the file's content, and wraps the
// dataset in external label files when asked.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/input_file.h"
#include "datasets/dataset.h"
#include "datasets/jsonl_dataset.h"
#include "datasets/label_file_dataset.h"
#include "datasets/tagged_dataset.h"
#include "datasets/text_dataset.h"
#include "datasets/token_file_dataset.h"
#include "datasets/window_dataset.h"

namespace resid {
namespace {

std::string join(const std::vector<std::string>& items, size_t from = 0) {
  std::string out;
  for (size_t i = from; i < items.size(); ++i) out += (i > from ? ", " : "") + items[i];
  return out;
}

std::string kind_from_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".jsonl" || ext == ".json") return "jsonl";
  if (ext == ".txt") return "text";
  if (ext == ".tokens" || ext == ".ids") return "tokens";
  if (ext == ".tags" || ext == ".tagged") return "tagged";
  throw InputError(
      path + ": cannot tell the dataset kind from the extension" +
      (ext.empty() ? std::string() : " \"" + ext + "\"") + "; give one of the kinds " +
      join(dataset_kinds(), 1) +
      " (auto knows .txt -> text, .jsonl/.json -> jsonl, .tokens/.ids -> tokens, .tags/.tagged -> "
      "tagged)");
}

const Tokenizer& require_tokenizer(const Tokenizer* tokenizer, const std::string& kind,
                                   const std::string& path) {
  if (!tokenizer) throw InputError(path + ": dataset kind " + kind + " needs a tokenizer");
  return *tokenizer;
}

void check_unique_columns(const Dataset& dataset, const std::string& path) {
  std::set<std::string> seen;
  for (const LabelColumn& c : dataset.labels()) {
    if (!seen.insert(c.name).second)
      throw InputError(path + ": two label columns are named \"" + c.name + "\"");
  }
}

}  // namespace

const std::vector<std::string>& dataset_kinds() {
  static const std::vector<std::string> kinds = {"auto", "text", "windows", "jsonl", "tokens", "tagged"};
  return kinds;
}

std::unique_ptr<Dataset> open_dataset(const DatasetOptions& options, const Tokenizer* tokenizer) {
  const auto& kinds = dataset_kinds();
  if (std::find(kinds.begin(), kinds.end(), options.kind) == kinds.end()) {
    throw InputError("unknown dataset kind \"" + options.kind + "\" (kinds: " + join(kinds) + ")");
  }
  const std::string& path = options.path;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError(path + ": no such dataset file");
  if (std::filesystem::is_directory(path, ec))
    throw InputError(path + ": is a directory, not a dataset file");
  require_regular_file(path, "the dataset file");
  if (options.max_line_bytes == 0) throw InputError(path + ": max_line_bytes 0 is below 1");
  if (options.max_tokens < 0)
    throw InputError(path + ": max_tokens " + std::to_string(options.max_tokens) + " is negative");
  if (options.window < 0)
    throw InputError(path + ": window " + std::to_string(options.window) + " is negative");

  const std::string kind = options.kind == "auto" ? kind_from_extension(path) : options.kind;
  if (!options.label_fields.empty() && kind != "jsonl") {
    throw InputError(path + ": label fields need a jsonl dataset, not " + kind +
                     " (per-sequence labels for other kinds: a label file)");
  }
  if (options.window > 0 && kind != "windows") {
    throw InputError(path + ": window only applies to the windows kind, not " + kind);
  }

  std::unique_ptr<Dataset> dataset;
  if (kind == "text") {
    dataset = std::make_unique<TextDataset>(options, require_tokenizer(tokenizer, kind, path));
  } else if (kind == "windows") {
    dataset = std::make_unique<WindowDataset>(options, require_tokenizer(tokenizer, kind, path));
  } else if (kind == "jsonl") {
    dataset = std::make_unique<JsonlDataset>(options, require_tokenizer(tokenizer, kind, path));
  } else if (kind == "tokens") {
    dataset = std::make_unique<TokenFileDataset>(options, tokenizer);
  } else {
    dataset = std::make_unique<TaggedDataset>(options, require_tokenizer(tokenizer, kind, path));
  }
  if (!options.label_files.empty())
    dataset = std::make_unique<LabelFileDataset>(std::move(dataset), options.label_files);
  check_unique_columns(*dataset, path);
  return dataset;
}

}  // namespace resid
