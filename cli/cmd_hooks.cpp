// resid hooks MODEL: every hook point with its shape, optionally filtered by patterns.
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "hooks/hook_point.h"
#include "hooks/hook_selector.h"

namespace resid::cli {

int run_hooks(const std::vector<std::string>& args) {
  ModelOptions model_opts;
  std::vector<std::string> patterns;
  po::options_description desc("resid hooks options");
  desc.add_options()("model", po::value(&model_opts.model)->required(), "model path")(
      "hooks", po::value(&patterns)->multitoken(), "only hooks matching these names / globs / layer ranges");
  model_opts.add_to(desc);
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  if (!parse(args, desc, pos, vm, "resid hooks MODEL [--hooks PATTERN...]")) return 0;
  const LoadedModel m = model_opts.load();
  const Config& c = require_transformer(m).config();
  const std::vector<HookPointId> chosen =
      patterns.empty() ? all_hook_points(c) : HookSelector::select(c, patterns);
  for (const HookPointId& p : chosen)
    std::printf("%-36s %s\n", hook_name(p.site, p.layer).c_str(), describe_hook_shape(c, p.site).c_str());
  std::fprintf(stderr, "%zu hooks\n", chosen.size());
  return 0;
}

}  // namespace resid::cli
