#include "probes/probe.h"

#include <cmath>

#include "core/error.h"
#include "core/formats/safetensors.h"

namespace resid::probes {

namespace {
// One table of names shared by the parser and the writer.
const std::pair<ProbeKind, const char*> kKinds[] = {{ProbeKind::Logistic, "logistic"},
                                                    {ProbeKind::Ridge, "ridge"},
                                                    {ProbeKind::RidgeClassifier, "ridge-classifier"},
                                                    {ProbeKind::MassMean, "mass-mean"}};
constexpr const char* kFormat = "resid-probe";
constexpr int kFormatVersion = 1;

Tensor to_tensor(const Eigen::MatrixXd& m) {
  std::vector<float> v(static_cast<size_t>(m.size()));
  for (Eigen::Index r = 0; r < m.rows(); ++r)
    for (Eigen::Index c = 0; c < m.cols(); ++c) v[r * m.cols() + c] = static_cast<float>(m(r, c));
  return Tensor::owned({m.rows(), m.cols()}, std::move(v));
}
Tensor to_tensor(const Eigen::VectorXd& x) {
  std::vector<float> v(x.data(), x.data() + x.size());
  return Tensor::owned({x.size()}, std::move(v));
}
}  // namespace

std::string probe_kind_name(ProbeKind k) {
  for (const auto& [kind, name] : kKinds)
    if (kind == k) return name;
  return "?";
}

ProbeKind parse_probe_kind(const std::string& name) {
  for (const auto& [kind, n] : kKinds)
    if (name == n) return kind;
  throw InputError("unknown probe kind '" + name +
                   "' (expected logistic, ridge, ridge-classifier or mass-mean)");
}

bool is_classifier(ProbeKind k) {
  return k != ProbeKind::Ridge;
}

Eigen::MatrixXd Probe::scores(const RowMatrix& x) const {
  RowMatrix z = x;
  standardiser.apply(MatrixMap(z.data(), z.rows(), z.cols()));
  return model.scores(InMemoryDesign(std::move(z)));
}

Eigen::VectorXf Probe::direction(const std::string& cls) const {
  const Eigen::Index k = model.w.rows();
  Eigen::VectorXd v;  // in standardised coordinates
  int c = -1;
  if (is_classifier(kind)) {
    for (size_t i = 0; i < classes.size(); ++i)
      if (classes[i] == cls) c = static_cast<int>(i);
    if (c < 0) {
      std::string names;
      for (const std::string& n : classes) names += (names.empty() ? "" : ", ") + n;
      throw InputError("probe has no class '" + cls + "' (classes: " + names + ")");
    }
    if (k == 1)
      v = model.w.row(0).transpose() * (c == 1 ? 1.0 : -1.0);
    else
      v = (model.w.row(c) - model.w.colwise().mean())
              .transpose();  // softmax ignores a shift common to all rows
  } else {
    if (!cls.empty()) throw InputError("a regression probe has no classes (cls must be empty)");
    v = model.w.row(0).transpose();
  }
  // Mass-mean: the difference of class means, mapped back to raw units (z = (x - mean) / scale, so a raw
  // displacement is scale * z). Score-based probes: the gradient of the score with respect to raw x, w /
  // scale.
  Eigen::VectorXd raw = kind == ProbeKind::MassMean ? Eigen::VectorXd(v.cwiseProduct(standardiser.scale))
                                                    : Eigen::VectorXd(v.cwiseQuotient(standardiser.scale));
  const double norm = raw.norm();
  if (!(norm > 0)) throw InputError("probe direction is zero (the probe learnt nothing)");
  return (raw / norm).cast<float>();
}

void save_probe(const std::string& path, const Probe& p) {
  const Tensor weight = to_tensor(p.model.w), bias = to_tensor(p.model.b),
               mean = to_tensor(p.standardiser.mean), scale = to_tensor(p.standardiser.scale);
  const std::map<std::string, std::string> meta = {
      {"format", kFormat},
      {"format_version", std::to_string(kFormatVersion)},
      {"kind", probe_kind_name(p.kind)},
      {"hook", p.hook},
      {"label", p.label},
      {"label_kind", p.label_kind},
      {"reduce", p.reduce},
      {"classes", nlohmann::json(p.classes).dump()},
      {"class_ids", nlohmann::json(p.class_ids).dump()},
      {"probe", p.info.dump()},
  };
  write_safetensors(path, {{"weight", &weight}, {"bias", &bias}, {"mean", &mean}, {"scale", &scale}}, meta);
}

Probe load_probe(const std::string& path) {
  const SafetensorsFile f(path);
  const auto& meta = f.metadata();
  auto get = [&](const std::string& key) {
    auto it = meta.find(key);
    if (it == meta.end()) throw FormatError(path, "not a resid probe: no '" + key + "' in the metadata");
    return it->second;
  };
  if (get("format") != kFormat) throw FormatError(path, "not a resid probe (format '" + get("format") + "')");
  if (get("format_version") != std::to_string(kFormatVersion))
    throw FormatError(path, "probe format_version " + get("format_version") + " is not supported (expected " +
                                std::to_string(kFormatVersion) + ")");
  Probe p;
  try {
    p.kind = parse_probe_kind(get("kind"));
    p.classes = nlohmann::json::parse(get("classes")).get<std::vector<std::string>>();
    p.class_ids = nlohmann::json::parse(get("class_ids")).get<std::vector<int32_t>>();
    p.info = nlohmann::json::parse(get("probe"));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, std::string("bad probe metadata: ") + e.what());
  } catch (const InputError& e) {
    throw FormatError(path, e.what());
  }
  p.hook = get("hook"), p.label = get("label"), p.label_kind = get("label_kind"), p.reduce = get("reduce");
  const Tensor w = f.tensor("weight"), b = f.tensor("bias"), mean = f.tensor("mean"),
               scale = f.tensor("scale");
  if (w.shape.size() != 2) throw FormatError(path, "weight must be 2-D [k, d], got " + shape_string(w.shape));
  const int64_t k = w.shape[0], d = w.shape[1];
  if (b.shape != std::vector<int64_t>{k} || mean.shape != std::vector<int64_t>{d} ||
      scale.shape != std::vector<int64_t>{d})
    throw FormatError(path, "bias " + shape_string(b.shape) + ", mean " + shape_string(mean.shape) +
                                " and scale " + shape_string(scale.shape) + " do not fit weight " +
                                shape_string(w.shape));
  const int64_t expected_k =
      !is_classifier(p.kind) ? 1 : (p.classes.size() == 2 ? 1 : int64_t(p.classes.size()));
  if (k != expected_k || (is_classifier(p.kind) && p.classes.size() < 2))
    throw FormatError(path, "weight has " + std::to_string(k) + " rows for " +
                                std::to_string(p.classes.size()) + " classes of a " +
                                probe_kind_name(p.kind) + " probe");
  p.model.w = w.matrix().cast<double>();
  p.model.b = b.vector().cast<double>();
  p.standardiser.mean = mean.vector().cast<double>();
  p.standardiser.scale = scale.vector().cast<double>();
  if (!p.model.w.allFinite() || !p.model.b.allFinite() || !p.standardiser.mean.allFinite() ||
      !(p.standardiser.scale.array() > 0).all())
    throw FormatError(path, "probe tensors hold NaN, infinity or a non-positive scale");
  return p;
}

}  // namespace resid::probes
