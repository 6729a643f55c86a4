#include "cli/flag_names.h"

#include <cctype>
#include <string_view>
#include <utility>

namespace resid::cli {

namespace {

// Option struct field (CaptureOptions, WriterOptions, DatasetOptions, CensusRunOptions, CensusOptions,
// GenerateOptions, FitOptions, CaptureFitOptions, ExampleOptions, Probe::direction,
// TrainOptions, OptimizerOptions, PointSource, ToyOptions) -> the flag that sets it.
constexpr std::pair<const char*, const char*> kFlags[] = {
    {"n_pos", "--max-tokens"},
    {"max_tokens", "--max-tokens"},
    {"window", "--window"},
    {"truncate", "--truncate"},
    {"max_line_bytes", "--max-line-bytes"},
    {"hook_patterns", "--hooks"},
    {"positions", "--positions"},
    {"dtype", "--dtype"},
    {"batch_size", "--batch-size"},
    {"init_redraws", "--init-redraws"},
    {"max_rows", "--max-rows"},
    {"force", "--force"},
    {"force_any", "--force-overwrite-any"},
    {"threshold", "--threshold"},
    {"rare_densities", "--rare"},
    {"steps", "--steps"},
    {"folds", "--folds"},
    {"reduce", "--reduce"},
    {"memory_bytes", "--memory"},
    {"cls", "--class"},
    {"lr", "--lr"},
    {"momentum", "--momentum"},
    {"weight_decay", "--weight-decay"},
    {"test_fraction", "--test-fraction"},
    {"labels_path", "--labels"},
    {"noise", "--noise"},
    {"widths", "--layers"},
};

bool opens_word(const std::string& s, size_t at) {
  return at == 0 || s[at - 1] == ' ' || s[at - 1] == '(';
}

bool closes_word(const std::string& s, size_t end) {
  return end == s.size() || std::string_view(" ),:;").find(s[end]) != std::string_view::npos;
}

const char* flag_of(std::string_view word) {
  for (const auto& [field, flag] : kFlags)
    if (word == field) return flag;
  return nullptr;
}

}  // namespace

std::string flag_names(const std::string& message) {
  std::string out;
  size_t i = 0;
  while (i < message.size()) {
    // Words run over identifier characters; anything else is copied as it is.
    size_t end = i;
    while (end < message.size() &&
           (std::isalnum(static_cast<unsigned char>(message[end])) || message[end] == '_'))
      ++end;
    if (end == i) {
      out += message[i++];
      continue;
    }
    const char* flag = opens_word(message, i) && closes_word(message, end)
                           ? flag_of(std::string_view(message).substr(i, end - i))
                           : nullptr;
    out.append(flag ? std::string(flag) : message.substr(i, end - i));
    i = end;
  }
  return out;
}

void rethrow_with_flag_names() {
  try {
    throw;
  } catch (const FormatError& e) {
    // FormatError(path, problem) reads "path: problem"; cut at any ": " and it is rebuilt the same.
    const std::string m = flag_names(e.what());
    const size_t cut = m.find(": ");
    if (cut == std::string::npos) throw;
    throw FormatError(m.substr(0, cut), m.substr(cut + 2));
  } catch (const ConfigError& e) {
    throw ConfigError(flag_names(e.what()));
  } catch (const InputError& e) {
    throw InputError(flag_names(e.what()));
  } catch (const Error& e) {
    throw Error(flag_names(e.what()));
  }
}

}  // namespace resid::cli
