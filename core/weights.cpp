#include "core/weights.h"

#include "core/error.h"
#include "core/init.h"
#include "core/weight_schema.h"

namespace resid {

std::vector<WeightRef> named_weights(const Config& c, const TransformerWeights& w) {
  Config present = c;  // the layers the weights hold, which check_weight_shapes compares with the config
  present.n_layers = static_cast<int>(w.layers.size());
  std::vector<WeightRef> out;
  for (const WeightSlot& s : weight_slots(present)) out.push_back({weight_name(s), &weight_tensor(w, s)});
  return out;
}

void check_weight_shapes(const Config& c, const TransformerWeights& w, const std::string& source) {
  if (static_cast<int>(w.layers.size()) != c.n_layers)
    throw FormatError(source, std::to_string(w.layers.size()) +
                                  " layers of weights, config says n_layers = " + std::to_string(c.n_layers));
  for (const WeightSlot& s : weight_slots(c)) {
    const Tensor& t = weight_tensor(w, s);
    const std::vector<int64_t> want = s.row->shape(c);
    if (t.empty()) throw FormatError(source, "missing tensor " + weight_name(s));
    if (t.shape != want)
      throw FormatError(source, weight_name(s) + " has shape " + shape_string(t.shape) + ", expected " +
                                    shape_string(want));
  }
  if (c.tied_embeddings && w.unembed.data != w.embed.data)
    throw FormatError(source, "config says tied embeddings but the unembedding is a separate tensor");
  if (!c.tied_embeddings && w.unembed.empty()) throw FormatError(source, "missing tensor lm_head.weight");
}

TransformerWeights random_weights(const Config& c, uint64_t seed) {
  c.validate();
  Rng rng(seed);
  auto matrix = [&](int64_t rows, int64_t cols) {
    return Tensor::owned({rows, cols}, truncated_normal(rows * cols, rng));
  };
  // Norm weights near 1 but not exactly, so a loader that drops them is caught.
  auto norm = [&](int64_t n) {
    std::vector<float> v = truncated_normal(n, rng, 0.1);
    for (float& x : v) x += 1.0f;
    return Tensor::owned({n}, std::move(v));
  };
  TransformerWeights w;
  w.layers.resize(c.n_layers);
  // Drawn in schema order, so a seed gives the same weights whatever reads them.
  for (const WeightSlot& s : weight_slots(c)) {
    const std::vector<int64_t> shape = s.row->shape(c);
    weight_tensor(w, s) = shape.size() == 1 ? norm(shape[0]) : matrix(shape[0], shape[1]);
  }
  if (c.tied_embeddings) w.unembed = w.embed;
  return w;
}

}  // namespace resid
