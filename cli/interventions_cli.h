// The --ablate / --steer / --patch options shared by subcommands that run a model.
#pragma once
#include <string>
#include <vector>

#include "cli/common.h"
#include "hooks/hook_set.h"

namespace resid::cli {

// Syntax (SEL = any of :pos=1,-1  :head=3  :neuron=5,17 appended to a hook pattern):
//   --ablate PATTERN[SEL]                    zero-ablation
//   --mean-ablate PATTERN=MEANS[SEL]         replace by a mean vector (file: .npy or whitespace-separated
//   floats)
//   --steer PATTERN=VECTOR[*SCALE][SEL]      add SCALE * vector (file as above)
//   --patch PATTERN[SEL]                     replace by the value from the --patch-prompt / --patch-tokens
//   run
struct InterventionOptions {
  std::vector<std::string> ablate, mean_ablate, steer, patch;
  std::string patch_prompt, patch_tokens;
  void add_to(po::options_description& desc);
  bool any() const { return !ablate.empty() || !mean_ablate.empty() || !steer.empty() || !patch.empty(); }
  // Registers the interventions on `hooks`. Runs the patch source forward first when --patch is given.
  void install(const LoadedModel& model, HookSet& hooks) const;
};

}  // namespace resid::cli
