// Choosing hook points, like TransformerLens' names_filter: exact names, glob patterns
// ("blocks.*.hook_resid_post", "blocks.1?.attn.*"), inclusive layer ranges ("blocks.2-4.hook_resid_post"), or
// a predicate in the C++ API.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/hook_site.h"

namespace resid {

// True when `name` matches the glob `pattern` (* = any run of characters, ? = one character; everything else
// literal, dots included).
bool glob_match(const std::string& pattern, const std::string& name);

class HookSelector {
 public:
  using Predicate = std::function<bool(const HookPointId&, const std::string& name)>;

  // Every pattern must match at least one hook of `config`, else InputError:
  // "no hook matches 'blocks.*.hook_resid'; hooks are named like hook_embed, blocks.{0..4}.hook_resid_post,
  // ..."
  static std::vector<HookPointId> select(const Config& config, const std::vector<std::string>& patterns);
  static std::vector<HookPointId> select(const Config& config, const Predicate& predicate);
  // The same rules over any list of points (a plain MLP's, say), returned in the list's order: layer ranges
  // stop at `n_layers`, and a pattern that matches nothing gives "no hook matches 'PATTERN'" + `unmatched`.
  static std::vector<HookPointId> select(const std::vector<HookPointId>& points, int n_layers,
                                         const std::vector<std::string>& patterns,
                                         const std::string& unmatched);

  // The message listing every hook name of a model, grouped per layer, for errors and `resid hooks`.
  static std::string available_names(const Config& config);
};

}  // namespace resid
