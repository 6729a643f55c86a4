// The plain MLP family stored as a bare .safetensors of <prefix>N.weight / <prefix>N.bias Linear layers
// (e.g. fc1, fc2), ordered by the number in their name; the activation comes from the resid_act_fn metadata
// key (ReLU when absent).
#pragma once
#include <map>
#include <string>

#include "core/formats/model_file.h"
#include "core/formats/safetensors.h"
#include "core/mlp.h"

namespace resid {

// Metadata keys a trained MLP carries (train/checkpoint.h writes them): the training configuration and the
// final metrics as JSON, and one line summing both up, which the loader shows as a note.
inline constexpr const char* kMlpTrainConfigKey = "resid_train_config";
inline constexpr const char* kMlpTrainMetricsKey = "resid_train_metrics";
inline constexpr const char* kMlpTrainSummaryKey = "resid_train_summary";

// Checks the chain of shapes (d_in -> ... -> d_out) and names the offending tensor in a FormatError.
LoadedModel load_mlp_safetensors(const SafetensorsFile& file);

// Writes an MLP as fc1.weight, fc1.bias, ... with a small config.json-free metadata block (format,
// resid_act_fn, resid_widths) and `extra` metadata beside it (e.g. resid train's record; it may not redefine
// those three keys).
void save_mlp_safetensors(const std::string& path, const Mlp& mlp,
                          const std::map<std::string, std::string>& extra = {});

}  // namespace resid
