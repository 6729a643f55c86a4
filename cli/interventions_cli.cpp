#include "cli/interventions_cli.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "hooks/activation_cache.h"
#include "hooks/hook_selector.h"
#include "hooks/interventions.h"

namespace resid::cli {

void InterventionOptions::add_to(po::options_description& desc) {
  desc.add_options()
      ("ablate", po::value(&ablate)->composing(), "zero-ablate: PATTERN[:pos=..][:head=..][:neuron=..] (repeatable)")
      ("mean-ablate", po::value(&mean_ablate)->composing(), "mean-ablate: PATTERN=MEANS_FILE[:sel] (.npy or text)")
      ("steer", po::value(&steer)->composing(), "add a vector: PATTERN=VECTOR_FILE[*SCALE][:sel]")
      ("patch", po::value(&patch)->composing(), "patch from the source run: PATTERN[:sel]")
      ("patch-prompt", po::value(&patch_prompt), "source (clean) run for --patch, as text")
      ("patch-tokens", po::value(&patch_tokens), "source (clean) run for --patch, as token ids");
}

namespace {

std::vector<int> parse_ints(const std::string& list, const std::string& spec) {
  std::vector<int> out;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      out.push_back(std::stoi(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw InputError("'" + spec + "': '" + item + "' is not an integer");
    }
  }
  return out;
}

// Splits "PATTERN[=VALUE][:key=list]..." into its parts.
struct Spec {
  std::string pattern, value;
  Selection selection;
};

Spec parse_spec(const std::string& text, bool wants_value) {
  Spec spec;
  std::vector<std::string> parts;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ':')) parts.push_back(part);
  if (parts.empty() || parts[0].empty()) throw InputError("empty intervention spec");
  spec.pattern = parts[0];
  if (wants_value) {
    const size_t eq = spec.pattern.find('=');
    if (eq == std::string::npos) throw InputError("'" + text + "': expected PATTERN=FILE");
    spec.value = spec.pattern.substr(eq + 1);
    spec.pattern = spec.pattern.substr(0, eq);
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    const size_t eq = parts[i].find('=');
    const std::string key = parts[i].substr(0, eq), list = eq == std::string::npos ? "" : parts[i].substr(eq + 1);
    if (key == "pos") spec.selection.positions = parse_ints(list, text);
    else if (key == "head") spec.selection.heads = parse_ints(list, text);
    else if (key == "neuron") spec.selection.neurons = parse_ints(list, text);
    else throw InputError("'" + text + "': unknown selector '" + key + "' (expected pos=, head= or neuron=)");
  }
  return spec;
}

std::vector<int32_t> encode_prompt(const LoadedModel& m, const std::string& prompt) {
  std::vector<int32_t> ids;
  for (int id : require_tokenizer(m).encode(prompt, true)) ids.push_back(id);
  return ids;
}

}  // namespace

std::vector<float> read_vector_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open vector file");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> out;
  if (bytes.rfind("\x93NUMPY", 0) == 0) {
    if (bytes.size() < 10) throw FormatError(path, "truncated .npy header");
    const int major = static_cast<unsigned char>(bytes[6]);
    const size_t header_len = major == 1 ? (static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8)
                                         : (bytes.size() >= 12 ? *reinterpret_cast<const uint32_t*>(&bytes[8]) : 0);
    const size_t data_start = (major == 1 ? 10 : 12) + header_len;
    if (data_start > bytes.size()) throw FormatError(path, "truncated .npy header");
    const std::string header = bytes.substr(major == 1 ? 10 : 12, header_len);
    if (header.find("'fortran_order': True") != std::string::npos) throw FormatError(path, "Fortran-order .npy not supported");
    const size_t n_bytes = bytes.size() - data_start;
    if (header.find("'<f4'") != std::string::npos) {
      out.resize(n_bytes / 4);
      std::memcpy(out.data(), bytes.data() + data_start, out.size() * 4);
    } else if (header.find("'<f8'") != std::string::npos) {
      std::vector<double> d(n_bytes / 8);
      std::memcpy(d.data(), bytes.data() + data_start, d.size() * 8);
      out.assign(d.begin(), d.end());
    } else {
      throw FormatError(path, ".npy dtype must be little-endian float32 or float64");
    }
  } else {
    std::stringstream ss(bytes);
    std::string word;
    while (ss >> word) {
      try {
        size_t used = 0;
        out.push_back(std::stof(word, &used));
        if (used != word.size()) throw std::invalid_argument(word);
      } catch (const std::exception&) {
        throw FormatError(path, "'" + word + "' is not a number");
      }
    }
  }
  if (out.empty()) throw FormatError(path, "no values in vector file");
  for (float v : out)
    if (!std::isfinite(v)) throw FormatError(path, "vector holds NaN or infinity");
  return out;
}

void InterventionOptions::install(const LoadedModel& m, HookSet& hooks) const {
  const Transformer& model = require_transformer(m);
  const Config& c = model.config();
  for (const std::string& text : ablate) {
    const Spec s = parse_spec(text, false);
    hooks.add(HookSelector::select(c, {s.pattern}), zero_ablation(s.selection));
  }
  for (const std::string& text : mean_ablate) {
    const Spec s = parse_spec(text, true);
    hooks.add(HookSelector::select(c, {s.pattern}), mean_ablation(read_vector_file(s.value), s.selection));
  }
  for (const std::string& text : steer) {
    Spec s = parse_spec(text, true);
    float scale = 1.0f;
    const size_t star = s.value.rfind('*');
    if (star != std::string::npos) {
      try {
        scale = std::stof(s.value.substr(star + 1));
      } catch (const std::exception&) {
        throw InputError("'" + text + "': scale after '*' is not a number");
      }
      s.value = s.value.substr(0, star);
    }
    hooks.add(HookSelector::select(c, {s.pattern}), steering(read_vector_file(s.value), scale, s.selection));
  }
  if (!patch.empty()) {
    if (patch_prompt.empty() == patch_tokens.empty())
      throw InputError("--patch needs exactly one of --patch-prompt and --patch-tokens (the source run)");
    const std::vector<int32_t> source = patch_prompt.empty() ? parse_token_list(patch_tokens) : encode_prompt(m, patch_prompt);
    std::vector<std::pair<std::vector<HookPointId>, Selection>> targets;
    std::vector<HookPointId> all;
    for (const std::string& text : patch) {
      const Spec s = parse_spec(text, false);
      targets.push_back({HookSelector::select(c, {s.pattern}), s.selection});
      all.insert(all.end(), targets.back().first.begin(), targets.back().first.end());
    }
    ActivationCache cache;
    HookSet record;
    cache.attach(record, all);
    ForwardOptions o;
    o.hooks = &record;
    model.forward(TokenBatch::single(source), o);
    for (const auto& [points, selection] : targets)
      for (const HookPointId& p : points) hooks.add(p, patch_from(cache.at(p), selection));
  }
}

}  // namespace resid::cli
