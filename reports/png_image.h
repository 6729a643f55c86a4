// Small images for charts: an 8-bit RGB PNG encoder (zlib) and data: URLs, so that a Vega-Lite image mark can
// draw a weight matrix without a mark per pixel.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace resid {

// rgb: [height, width, 3] bytes. Returns the PNG file's bytes.
std::string encode_png_rgb(int width, int height, const std::vector<uint8_t>& rgb);
std::string base64(const std::string& bytes);
// "data:image/png;base64,..."
std::string png_data_url(int width, int height, const std::vector<uint8_t>& rgb);

// A diverging colour for v in [-1, 1]: blue (negative), white (0), red (positive); clamped outside.
void diverging_rgb(float v, uint8_t* rgb);

}  // namespace resid
