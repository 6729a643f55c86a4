#include "core/formats/mlp_safetensors.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <map>

#include "core/error.h"

namespace resid {

namespace {

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  return s;
}

std::string mlp_widths(const MlpConfig& c) {
  std::string s;
  for (int w : c.widths) s += (s.empty() ? "" : "-") + std::to_string(w);
  return s;
}

// "fc1.weight" -> {"fc", 1, true}; "layers.10.bias" -> {"layers.", 10, false}.
struct LinearName {
  std::string prefix;
  int index = 0;
  bool is_weight = false;
};

bool parse_linear_name(const std::string& name, LinearName* out) {
  std::string stem;
  if (name.ends_with(".weight")) {
    stem = name.substr(0, name.size() - 7);
    out->is_weight = true;
  } else if (name.ends_with(".bias")) {
    stem = name.substr(0, name.size() - 5);
    out->is_weight = false;
  } else {
    return false;
  }
  size_t digits = stem.size();
  while (digits > 0 && std::isdigit(static_cast<unsigned char>(stem[digits - 1]))) --digits;
  const size_t n = stem.size() - digits;
  if (n == 0 || n > 9) return false;  // at most 9 digits, so the number fits an int
  out->prefix = stem.substr(0, digits);
  out->index = std::stoi(stem.substr(digits));
  return true;
}

struct LinearEntry {
  std::string weight, bias;  // tensor names ("" when absent)
};

std::map<int, LinearEntry> group_linear_layers(const SafetensorsFile& file) {
  const std::string& path = file.path();
  std::map<int, LinearEntry> layers;
  std::string prefix;
  for (const auto& [name, entry] : file.entries()) {
    LinearName ln;
    if (!parse_linear_name(name, &ln))
      throw FormatError(path,
                        "tensor '" + one_line(name) +
                            "' is not a Linear layer <prefix><N>.weight / .bias (nor a Hugging Face Llama "
                            "tensor model.*)");
    if (prefix.empty()) prefix = ln.prefix;
    if (ln.prefix != prefix)
      throw FormatError(path, "tensor '" + one_line(name) + "' does not share the layer prefix '" + prefix +
                                  "' of the other Linear layers");
    std::string& slot = ln.is_weight ? layers[ln.index].weight : layers[ln.index].bias;
    if (!slot.empty())
      throw FormatError(path, "tensors '" + slot + "' and '" + one_line(name) + "' are both layer " +
                                  std::to_string(ln.index));
    slot = name;
  }
  if (layers.empty()) throw FormatError(path, "no tensors: not a model");
  return layers;
}

// Checks shapes (the chain d_in -> ... -> d_out) before handing the layers to Mlp, so errors name the tensor.
std::vector<Linear> take_linear_layers(const SafetensorsFile& file, const std::map<int, LinearEntry>& layers,
                                       std::vector<TensorRecord>* records, std::vector<std::string>* notes) {
  const std::string& path = file.path();
  std::vector<Linear> out;
  std::string prev_name;
  int64_t prev_out = -1;
  for (const auto& [index, names] : layers) {
    if (names.weight.empty()) throw FormatError(path, "tensor '" + names.bias + "' has no matching .weight");
    const SafetensorsEntry& we = file.entries().at(names.weight);
    if (we.shape.size() != 2 || we.shape[0] <= 0 || we.shape[1] <= 0 || we.shape[0] > INT_MAX ||
        we.shape[1] > INT_MAX)
      throw FormatError(path, "tensor '" + names.weight + "' has shape " + shape_string(we.shape) +
                                  "; a Linear weight is [d_out, d_in] with both in [1, 2^31)");
    if (prev_out >= 0 && we.shape[1] != prev_out)
      throw FormatError(path, "tensor '" + names.weight + "' has shape " + shape_string(we.shape) +
                                  ", expected [*, " + std::to_string(prev_out) + "] to follow '" + prev_name +
                                  "' with " + std::to_string(prev_out) + " outputs");
    Linear layer;
    bool mapped = false;
    layer.weight = file.tensor(names.weight, &mapped);
    records->push_back({names.weight, we.dtype, we.shape, mapped});
    if (names.bias.empty()) {
      layer.bias = Tensor::owned({we.shape[0]}, std::vector<float>(static_cast<size_t>(we.shape[0]), 0.0f));
      notes->push_back(names.weight + " has no bias: zeros");
    } else {
      const SafetensorsEntry& be = file.entries().at(names.bias);
      if (be.shape != std::vector<int64_t>{we.shape[0]})
        throw FormatError(path, "tensor '" + names.bias + "' has shape " + shape_string(be.shape) +
                                    ", expected [" + std::to_string(we.shape[0]) + "] to match '" +
                                    names.weight + "'");
      layer.bias = file.tensor(names.bias, &mapped);
      records->push_back({names.bias, be.dtype, be.shape, mapped});
    }
    prev_out = we.shape[0];
    prev_name = names.weight;
    out.push_back(std::move(layer));
  }
  return out;
}

}  // namespace

LoadedModel load_mlp_safetensors(const SafetensorsFile& file) {
  LoadedModel model;
  model.path = file.path();
  model.format = ModelFormat::Safetensors;
  const auto layers = group_linear_layers(file);
  std::vector<Linear> linear = take_linear_layers(file, layers, &model.tensors, &model.notes);
  ActFn act = ActFn::ReLU;
  auto it = file.metadata().find("resid_act_fn");
  if (it != file.metadata().end()) {
    try {
      act = act_fn_from_name(it->second);
    } catch (const ConfigError& e) {
      throw ConfigError(file.path() + ": " + e.what());
    }
  } else if (linear.size() > 1) {
    model.notes.push_back("no resid_act_fn in the metadata: ReLU assumed");
  }
  const auto summary = file.metadata().find(kMlpTrainSummaryKey);
  if (summary != file.metadata().end())
    model.notes.push_back("trained by resid train: " + one_line(summary->second));
  auto mlp = std::make_shared<const Mlp>(std::move(linear), act, file.path());
  model.format_detail = "safetensors MLP " + mlp_widths(mlp->config()) + " " + act_fn_name(act) + " (" +
                        dtypes_of(model.tensors) + ")";
  model.mlp = std::move(mlp);
  return model;
}

void save_mlp_safetensors(const std::string& path, const Mlp& mlp,
                          const std::map<std::string, std::string>& extra) {
  std::vector<NamedTensor> named;
  const auto& ls = mlp.layers();
  for (size_t i = 0; i < ls.size(); ++i) {
    const std::string p = "fc" + std::to_string(i + 1);
    named.push_back({p + ".weight", &ls[i].weight});
    named.push_back({p + ".bias", &ls[i].bias});
  }
  std::map<std::string, std::string> metadata = {{"format", "pt"},
                                                 {"resid_act_fn", act_fn_name(mlp.config().act_fn)},
                                                 {"resid_widths", mlp_widths(mlp.config())}};
  for (const auto& [key, value] : extra)
    if (!metadata.emplace(key, value).second)
      throw InputError(path + ": metadata key '" + key + "' is written by the MLP writer itself");
  write_safetensors(path, named, metadata, DType::F32);
}

}  // namespace resid
