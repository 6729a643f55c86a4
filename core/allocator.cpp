#include "core/allocator.h"

#include <malloc.h>

namespace resid {

void tune_allocator_for_large_buffers() {
  // 32 MiB is glibc's largest allowed mmap threshold; bigger blocks (full logits) still get their own
  // mapping.
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  // Do not give freed heap memory back to the kernel after every layer: it is needed again right away.
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

}  // namespace resid
