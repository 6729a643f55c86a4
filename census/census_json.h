// The census as JSON (`resid census --json`): per-layer summaries, histograms and dead ids; the per-neuron
// statistics go to the HDF5 file (census/census_file.h) instead, since they grow with d_mlp x n_layers.
#pragma once
#include <nlohmann/json.hpp>

#include "census/neuron_census.h"

namespace resid {

nlohmann::json census_to_json(const CensusResult& result);

}  // namespace resid
