// The census statistics file: HDF5, one group per counted layer with per-neuron fires, density, mean, max and
// mean-when-active, the dead ids and the density histogram. Layout in docs/census.md; h5py reads it directly.
#pragma once
#include <string>

#include "census/neuron_census.h"

namespace resid {

// Written beside `path` and renamed into place, so `path` is never half a file. Replaces an existing file.
// Throws FormatError naming the path when it cannot be written.
void write_census_file(const std::string& path, const CensusResult& result);

// Reads back what write_census_file wrote (sums are rebuilt from the stored means, within float rounding).
// FormatError naming the path for a file that is not a census file.
CensusResult read_census_file(const std::string& path);

}  // namespace resid
