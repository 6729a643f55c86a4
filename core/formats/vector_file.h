// One float vector from a file: NumPy .npy (1-D, little-endian float32 or float64, C order) or text (numbers
// separated by whitespace). Used for mean-ablation and steering vectors.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace resid {

// Reads and parses `path`; refuses FIFOs, devices and directories. Throws InputError / FormatError naming it.
std::vector<float> read_vector_file(const std::string& path);

// Parses the bytes of a vector file (`path` only names it in errors): .npy when they start with its magic.
// The .npy header's shape is the truth: it must be 1-D and its element count must match the data exactly.
// Every value must be finite; an empty vector is an error.
std::vector<float> parse_vector_file(std::string_view bytes, const std::string& path);

}  // namespace resid
