#include "probes/npy.h"

#include "core/atomic_file.h"

namespace resid::probes {

void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  std::string dims;
  int64_t n = 1;
  for (int64_t s : shape) dims += std::to_string(s) + ", ", n *= s;
  if (shape.size() > 1) dims.resize(dims.size() - 2);
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Magic (6) + version (2) + length (2) + header + '\n' is padded to a multiple of 64 bytes.
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  const uint16_t len = static_cast<uint16_t>(header.size());
  AtomicFile out(path);
  out.write("\x93NUMPY\x01\x00", 8);
  const unsigned char len_bytes[2] = {static_cast<unsigned char>(len & 0xff),
                                      static_cast<unsigned char>(len >> 8)};
  out.write(len_bytes, 2);
  out.write(header.data(), header.size());
  out.write(data, static_cast<size_t>(n) * sizeof(float));
  out.commit();
}

}  // namespace resid::probes
