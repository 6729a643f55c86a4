// The plain MLP family stored as a bare .safetensors of <prefix>N.weight / <prefix>N.bias Linear layers
// (e.g. fc1, fc2), ordered by the number in their name; the activation comes from the resid_act_fn metadata
// key (ReLU when absent).
#pragma once
#include <string>

#include "core/formats/model_file.h"
#include "core/formats/safetensors.h"
#include "core/mlp.h"

namespace resid {

// Checks the chain of shapes (d_in -> ... -> d_out) and names the offending tensor in a FormatError.
LoadedModel load_mlp_safetensors(const SafetensorsFile& file);

// Writes an MLP as fc1.weight, fc1.bias, ... with a small config.json-free metadata block.
void save_mlp_safetensors(const std::string& path, const Mlp& mlp);

}  // namespace resid
