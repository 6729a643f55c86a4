#include "cli/interventions_cli.h"

#include <charconv>
#include <cmath>
#include <sstream>

#include "core/error.h"
#include "core/formats/vector_file.h"
#include "core/input_file.h"
#include "hooks/hook_selector.h"
#include "hooks/interventions.h"
#include "hooks/run_with_cache.h"

namespace resid::cli {

void InterventionOptions::add_to(po::options_description& desc) {
  desc.add_options()("ablate", po::value(&ablate)->composing(),
                     "zero-ablate: PATTERN[:pos=..][:head=..][:neuron=..] (repeatable)")(
      "mean-ablate", po::value(&mean_ablate)->composing(),
      "mean-ablate: PATTERN=MEANS_FILE[:sel] (.npy or text)")(
      "steer", po::value(&steer)->composing(), "add a vector: PATTERN=VECTOR_FILE[*SCALE][:sel]")(
      "patch", po::value(&patch)->composing(), "patch from the source run: PATTERN[:sel]")(
      "patch-prompt", po::value(&patch_prompt), "source (clean) run for --patch, as text")(
      "patch-tokens", po::value(&patch_tokens), "source (clean) run for --patch, as token ids");
}

namespace {

// "1,-1,5" -> {1, -1, 5}. An empty list or item is an error: an empty selection would select the whole hook.
std::vector<int> parse_ints(const std::string& key, const std::string& list, const std::string& spec) {
  if (list.empty()) throw InputError("'" + printable(spec) + "': " + key + "= lists no indices");
  std::vector<int> out;
  std::stringstream ss(list + ",");  // the sentinel makes a trailing comma show up as an empty item
  std::string item;
  while (std::getline(ss, item, ',')) {
    int v = 0;
    const auto [stop, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || stop != item.data() + item.size())
      throw InputError("'" + printable(spec) + "': '" + printable(item) + "' is not an integer");
    out.push_back(v);
  }
  return out;
}

// The SCALE of PATTERN=FILE*SCALE: a finite number, written in full.
float parse_scale(const std::string& text, const std::string& spec) {
  float scale = 0;
  const char* end = text.data() + text.size();
  const char* begin = text.size() > 1 && text[0] == '+' ? text.data() + 1 : text.data();
  const auto [stop, ec] = std::from_chars(begin, end, scale);
  if (text.empty() || ec != std::errc() || stop != end)
    throw InputError("'" + printable(spec) + "': scale after '*' is not a number");
  if (!std::isfinite(scale)) throw InputError("'" + printable(spec) + "': scale after '*' must be finite");
  return scale;
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
    const std::string key = parts[i].substr(0, eq),
                      list = eq == std::string::npos ? "" : parts[i].substr(eq + 1);
    if (key == "pos")
      spec.selection.positions = parse_ints(key, list, text);
    else if (key == "head")
      spec.selection.heads = parse_ints(key, list, text);
    else if (key == "neuron")
      spec.selection.neurons = parse_ints(key, list, text);
    else
      throw InputError("'" + text + "': unknown selector '" + key + "' (expected pos=, head= or neuron=)");
  }
  return spec;
}

std::vector<int32_t> encode_prompt(const LoadedModel& m, const std::string& prompt) {
  std::vector<int32_t> ids;
  for (int id : require_tokenizer(m).encode(prompt, true)) ids.push_back(id);
  return ids;
}

}  // namespace

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
      scale = parse_scale(s.value.substr(star + 1), text);
      s.value = s.value.substr(0, star);
    }
    hooks.add(HookSelector::select(c, {s.pattern}), steering(read_vector_file(s.value), scale, s.selection));
  }
  if (!patch.empty()) {
    if (patch_prompt.empty() == patch_tokens.empty())
      throw InputError("--patch needs exactly one of --patch-prompt and --patch-tokens (the source run)");
    const std::vector<int32_t> source =
        patch_prompt.empty() ? parse_token_list(patch_tokens) : encode_prompt(m, patch_prompt);
    std::vector<std::pair<std::vector<HookPointId>, Selection>> targets;
    std::vector<HookPointId> all;
    for (const std::string& text : patch) {
      const Spec s = parse_spec(text, false);
      targets.push_back({HookSelector::select(c, {s.pattern}), s.selection});
      all.insert(all.end(), targets.back().first.begin(), targets.back().first.end());
    }
    const CachedRun run = run_with_cache(model, TokenBatch::single(source), all);
    for (const auto& [points, selection] : targets)
      for (const HookPointId& p : points) hooks.add(p, patch_from(run.cache.at(p), selection));
  }
}

}  // namespace resid::cli
