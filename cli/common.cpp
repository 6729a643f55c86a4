#include "cli/common.h"

#include <omp.h>

#include <cctype>
#include <charconv>
#include <iostream>
#include <sstream>
#include <string_view>

#include "core/error.h"

namespace resid::cli {

void ModelOptions::add_to(po::options_description& desc) {
  desc.add_options()("tokenizer", po::value(&tokenizer),
                     "tokenizer file (.bin llama2.c or .model SentencePiece); default: the one "
                     "embedded in the model or found beside it")(
      "threads", po::value(&threads)->default_value(0), "worker threads (0 = all cores)");
}

LoadedModel ModelOptions::load() const {
  if (threads < 0) throw InputError("--threads = " + std::to_string(threads) + " must not be negative");
  if (threads > 0) omp_set_num_threads(threads);
  LoadOptions options;
  options.tokenizer_path = tokenizer;
  return load_model(model, options);
}

bool parse(const std::vector<std::string>& args, const po::options_description& desc,
           const po::positional_options_description& positional, po::variables_map& vm,
           const std::string& usage) {
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::cout << "usage: " << usage << "\n\n" << desc << "\n";
      return false;
    }
  }
  try {
    po::store(po::command_line_parser(args).options(desc).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw InputError(std::string(e.what()) + " (usage: " + usage + ")");
  }
  return true;
}

std::vector<int32_t> parse_token_list(const std::string& text) {
  std::vector<int32_t> ids;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    // Spaces around an id are fine ("1, 403"); a blank item is not an id (it was read as token 0).
    std::string_view word(item);
    while (!word.empty() && std::isspace(static_cast<unsigned char>(word.front()))) word.remove_prefix(1);
    while (!word.empty() && std::isspace(static_cast<unsigned char>(word.back()))) word.remove_suffix(1);
    int32_t v = 0;
    const auto [stop, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
    if (word.empty() || ec != std::errc() || stop != word.data() + word.size())
      throw InputError("--tokens: '" + item + "' is not a token id (expected comma-separated integers)");
    ids.push_back(v);
  }
  if (ids.empty()) throw InputError("--tokens: no token ids given");
  if (text.back() == ',') throw InputError("--tokens: '" + text + "' ends with a comma");
  return ids;
}

const Transformer& require_transformer(const LoadedModel& model) {
  if (!model.transformer)
    throw InputError(model.path + ": is a plain MLP, this command needs a language model");
  return *model.transformer;
}

const Tokenizer& require_tokenizer(const LoadedModel& model) {
  if (!model.tokenizer)
    throw InputError(model.path +
                     ": no tokenizer found (embedded, or tokenizer.bin/.model beside the model); "
                     "give one with --tokenizer");
  return *model.tokenizer;
}

}  // namespace resid::cli
