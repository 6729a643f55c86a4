#include "probes/control_task.h"

#include <algorithm>
#include <cstddef>

#include "probes/splits.h"

namespace resid::probes {

std::vector<int32_t> control_labels(const std::vector<int32_t>& keys, const std::vector<int32_t>& labels,
                                    const std::vector<bool>& use, int n_classes, uint64_t seed) {
  std::vector<double> cdf(n_classes, 0);
  double total = 0;
  for (size_t i = 0; i < labels.size(); ++i)
    if (use[i]) cdf[labels[i]] += 1, total += 1;
  double acc = 0;
  for (double& c : cdf) c = (acc += c / std::max(total, 1.0));
  std::vector<int32_t> out(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const double u =
        double(mix64(mix64(seed ^ 0xc0417201ULL) ^ static_cast<uint32_t>(keys[i])) >> 11) * 0x1.0p-53;
    int32_t c = 0;
    while (c + 1 < n_classes && u >= cdf[c]) ++c;
    out[i] = c;
  }
  return out;
}

}  // namespace resid::probes
