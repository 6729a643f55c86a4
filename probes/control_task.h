// Control task (Hewitt & Liang 2019): each token id gets a fixed random label, drawn from the real labels'
// class distribution. A probe that also does well on the control task is memorising token identity rather
// than reading the property; selectivity = accuracy - control accuracy.
#pragma once
#include <cstdint>
#include <vector>

namespace resid::probes {

// keys: the token id of each example; labels: its real class; returns the control class of each example.
// The class distribution is estimated from `labels` where `use_for_distribution` is true (the training set);
// the draw for a token id depends only on (seed, token id), so the same id always gets the same label.
std::vector<int32_t> control_labels(const std::vector<int32_t>& keys, const std::vector<int32_t>& labels,
                                    const std::vector<bool>& use_for_distribution, int n_classes,
                                    uint64_t seed);

}  // namespace resid::probes
