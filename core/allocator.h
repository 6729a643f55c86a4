// Process-wide allocator settings for resid's workload. The forward allocates many multi-megabyte temporaries
// per layer; glibc serves those with fresh mmap()s and returns them on free, so every layer pays page faults
// again (costly in a VM: measured 25-40% of a 110M-shape prefill). Keeping them on the heap removes that
// cost. Call once at program start (the CLI and the benchmarks do); library code never calls it.
#pragma once

namespace resid {

void tune_allocator_for_large_buffers();

}  // namespace resid
