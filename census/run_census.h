// Running the census: over a language model and a token dataset, over a plain MLP and an image set, or over
// the mlp hooks stored in a capture file. Each returns the per-layer counts (census/neuron_census.h).
#pragma once
#include <atomic>
#include <functional>
#include <string>

#include "census/neuron_census.h"
#include "core/mlp.h"
#include "core/transformer.h"
#include "datasets/dataset.h"
#include "datasets/image_set.h"

namespace resid {

struct CensusRunOptions {
  CensusOptions census;
  int batch_size = 8;    // sequences (or images) per forward; the result does not depend on it
  int n_pos = 0;         // language models: longest example allowed (0 = the model's n_ctx)
  int64_t max_rows = 0;  // stop after this many sequences / images (0 = all)
  const std::atomic<bool>* stop = nullptr;  // set by a signal handler: stop after the current batch
  std::function<void(int64_t rows, int64_t tokens)> on_progress;
};

// Streams the dataset through the model with a read-only hook per layer (mlp.hook_post, or mlp.hook_pre for
// gated FFNs) and no logits. Empty examples are skipped; one longer than n_pos is an InputError.
CensusResult census_of_transformer(const Transformer& model, Dataset& dataset,
                                   const CensusRunOptions& options);

// Every hidden layer's mlp.hook_post over all images; counts correct argmax predictions when labels are
// given.
CensusResult census_of_mlp(const Mlp& model, const ImageSet& images, const CensusRunOptions& options);

// Reads blocks.L.mlp.hook_post (or hook_pre for a gated model, from the file's model config) of every layer
// the capture holds, over its committed rows and each row's real length. InputError naming the file when it
// holds none of them or holds them reduced over positions.
CensusResult census_of_capture(const std::string& path, const CensusRunOptions& options);

}  // namespace resid
