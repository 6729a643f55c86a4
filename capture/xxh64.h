// XXH64 (the xxHash 64-bit hash, seed given): the per-row checksums of the activation file. Fast enough to
// hash every stored byte on the writer thread; against accidents (damaged or truncated files), not
// adversaries.
#pragma once
#include <cstddef>
#include <cstdint>

namespace resid {

uint64_t xxh64(const void* data, size_t size, uint64_t seed = 0);

}  // namespace resid
