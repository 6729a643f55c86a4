// Weight matrices as images: a plain MLP's first-layer weight vectors, one tile per hidden neuron, reshaped
// to the input image (e.g. the MNIST MLP's 500 vectors of 784 as 28x28 tiles). With a census of the same
// model, dead neurons are outlined.
#pragma once
#include <string>

#include "census/neuron_census.h"
#include "core/mlp.h"
#include "reports/report.h"

namespace resid {

// The side of the square tile a first layer of `d_in` inputs makes; 0 when d_in is not a square.
int square_tile_side(int64_t d_in);

// Throws InputError when the first layer's input width is not a square. `census` may be null; it is used only
// when its layer 0 has one neuron per tile.
Section weight_tiles_section(const Mlp& mlp, const std::string& path, const CensusResult* census);

}  // namespace resid
