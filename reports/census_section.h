// The census section from a `resid census -o` statistics file (docs/census.md): dead fraction per layer, the
// log10 firing-density histogram as a layer x density heatmap, and a map of the dead and rare neurons by id.
#pragma once
#include <string>

#include "census/neuron_census.h"
#include "reports/report.h"

namespace resid {

// The neurons marked on the map: dead ones, and alive ones firing on fewer than the largest rare density.
// At most this many points are drawn (the id lists below the chart stay complete).
constexpr size_t kMaxNeuronPoints = 20000;

Section census_section(const CensusResult& census, const std::string& path);

}  // namespace resid
