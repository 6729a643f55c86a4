#include "hooks/hook_selector.h"

#include <algorithm>
#include <charconv>
#include <regex>
#include <set>

#include "core/error.h"
#include "core/input_file.h"

namespace resid {

bool glob_match(const std::string& pattern, const std::string& name) {
  // Iterative matcher with single-star backtracking: linear for the patterns people write.
  size_t p = 0, n = 0, star = std::string::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p, ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (star != std::string::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {
int parse_layer(const std::string& digits, const std::string& pattern) {
  int layer = 0;
  const auto [stop, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), layer);
  if (ec != std::errc() || stop != digits.data() + digits.size())
    throw InputError("hook pattern '" + printable(pattern) + "': layer " + printable(digits) +
                     " is out of range");
  return layer;
}

// "blocks.2-4.rest" -> expands to blocks.2.rest, blocks.3.rest, blocks.4.rest; other patterns unchanged.
// Layers past the model's last are dropped (they match nothing), so a huge range costs nothing.
std::vector<std::string> expand_layer_range(const std::string& pattern, int n_layers) {
  static const std::regex range(R"(^blocks\.(\d+)-(\d+)\.(.+)$)");
  std::smatch m;
  if (!std::regex_match(pattern, m, range)) return {pattern};
  const int first = parse_layer(m[1], pattern), last = parse_layer(m[2], pattern);
  if (first > last)
    throw InputError("hook pattern '" + pattern + "': layer range " + m[1].str() + "-" + m[2].str() +
                     " is empty");
  std::vector<std::string> out;
  for (int l = first; l <= std::min(last, n_layers - 1); ++l)
    out.push_back("blocks." + std::to_string(l) + "." + m[3].str());
  return out;
}
}  // namespace

std::string HookSelector::available_names(const Config& config) {
  std::string out;
  for (const HookSiteInfo& info : all_hook_sites()) {
    if (!hook_site_exists(config, info.site)) continue;
    if (!out.empty()) out += ", ";
    out += info.per_layer ? "blocks.{0.." + std::to_string(config.n_layers - 1) + "}." + info.suffix
                          : info.suffix;
  }
  return out;
}

std::vector<HookPointId> HookSelector::select(const std::vector<HookPointId>& points, int n_layers,
                                              const std::vector<std::string>& patterns,
                                              const std::string& unmatched) {
  std::vector<bool> chosen(points.size(), false);
  for (const std::string& pattern : patterns) {
    bool any = false;
    for (const std::string& expanded : expand_layer_range(pattern, n_layers)) {
      for (size_t i = 0; i < points.size(); ++i) {
        if (glob_match(expanded, hook_name(points[i].site, points[i].layer))) chosen[i] = any = true;
      }
    }
    if (!any) throw InputError("no hook matches '" + pattern + "'" + unmatched);
  }
  std::vector<HookPointId> out;
  for (size_t i = 0; i < points.size(); ++i)
    if (chosen[i]) out.push_back(points[i]);
  return out;
}

std::vector<HookPointId> HookSelector::select(const Config& config,
                                              const std::vector<std::string>& patterns) {
  return select(all_hook_points(config), config.n_layers, patterns,
                " in a model with n_layers = " + std::to_string(config.n_layers) + "; hooks are " +
                    available_names(config));
}

std::vector<HookPointId> HookSelector::select(const Config& config, const Predicate& predicate) {
  std::vector<HookPointId> out;
  for (const HookPointId& p : all_hook_points(config))
    if (predicate(p, hook_name(p.site, p.layer))) out.push_back(p);
  return out;
}

}  // namespace resid
