#include "cli/common.h"

#include <omp.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
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

double parse_double(const std::string& flag, const std::string& text) {
  // strtod, not stod: an overflow is inf and an underflow the nearest denormal or 0, not an exception.
  const char* begin = text.c_str();
  char* end = nullptr;
  const double v = std::strtod(begin, &end);
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0])) || end != begin + text.size())
    throw InputError(flag + " '" + text + "' is not a number");
  return v;
}

std::string shell_quote(const std::string& word) {
  if (!word.empty() &&
      word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,*+@%") ==
          std::string::npos)
    return word;
  std::string out = "'";
  for (char ch : word) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

std::string command_line(const std::string& command, const std::vector<std::string>& args) {
  std::string s = "resid " + command;
  for (const std::string& a : args) s += " " + shell_quote(a);
  return s;
}

namespace {
// Now as ISO 8601 UTC: "2026-12-02T13:05:00Z".
std::string utc_now() {
  char buf[32];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}
}  // namespace

ActivationFileInfo capture_file_info(const LoadedModel& model, const std::string& dataset_path,
                                     const std::string& command_line) {
  ActivationFileInfo info;
  info.resid_version = RESID_VERSION;
  info.model_path = std::filesystem::absolute(model.path).string();
  info.dataset_path = std::filesystem::absolute(dataset_path).string();
  info.command_line = command_line;
  info.created = utc_now();
  return info;
}

}  // namespace resid::cli
