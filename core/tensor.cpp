#include "core/tensor.h"

#include "core/error.h"

namespace resid {

Tensor Tensor::owned(std::vector<int64_t> shape, std::vector<float> values) {
  auto storage = std::make_shared<std::vector<float>>(std::move(values));
  Tensor t;
  t.shape = std::move(shape);
  if (t.numel() != static_cast<int64_t>(storage->size()))
    throw InputError("Tensor::owned: shape " + shape_string(t.shape) + " does not match " +
                     std::to_string(storage->size()) + " values");
  t.data = storage->data();
  t.owner = storage;
  return t;
}

Tensor Tensor::view(std::vector<int64_t> shape, const float* data, std::shared_ptr<const void> owner) {
  Tensor t;
  t.shape = std::move(shape);
  t.data = data;
  t.owner = std::move(owner);
  return t;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace resid
