// Writing float32 .npy files (numpy format 1.0), e.g. probe directions for `resid run --steer`.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace resid::probes {

void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape);

}  // namespace resid::probes
