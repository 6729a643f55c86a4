// Attention patterns of a prompt: one chart per layer, one heatmap per head, query tokens down and key tokens
// across (blocks.L.attn.hook_pattern).
#pragma once
#include "core/config.h"
#include "reports/prompt_run.h"
#include "reports/report.h"

namespace resid {

Section attention_section(const Config& config, const PromptRun& run);

}  // namespace resid
