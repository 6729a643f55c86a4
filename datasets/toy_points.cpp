#include "datasets/toy_points.h"

#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "core/init.h"
#include "core/number_text.h"

namespace resid {

namespace {

// n points in `classes` classes, the first n % classes classes one point larger; point i has class i %
// classes so every prefix is balanced.
PointSet empty_set(int64_t n, int classes) {
  PointSet s;
  s.x.resize(n, 2);
  s.y.resize(static_cast<size_t>(n));
  s.n_classes = classes;
  for (int64_t i = 0; i < n; ++i) s.y[i] = static_cast<int32_t>(i % classes);
  return s;
}

void put(PointSet& s, int64_t i, double a, double b, double noise, Rng& rng) {
  s.x(i, 0) = static_cast<float>(a + noise * rng.normal());
  s.x(i, 1) = static_cast<float>(b + noise * rng.normal());
}

// The four corners (+-1, +-1); class 1 where the signs differ.
PointSet xor_points(const ToyOptions& o, double noise, int) {
  PointSet s = empty_set(o.n, 2);
  Rng rng(o.seed);
  for (int64_t i = 0; i < o.n; ++i) {
    const double a = rng.uniform() < 0.5 ? -1.0 : 1.0;
    const double b = (s.y[i] == 1) == (a > 0) ? -1.0 : 1.0;
    put(s, i, a, b, noise, rng);
  }
  return s;
}

// scikit-learn's make_moons: the upper half of the unit circle, and the lower half shifted by (1, -0.5).
PointSet moons_points(const ToyOptions& o, double noise, int) {
  PointSet s = empty_set(o.n, 2);
  Rng rng(o.seed);
  for (int64_t i = 0; i < o.n; ++i) {
    const double t = M_PI * rng.uniform();
    if (s.y[i] == 0)
      put(s, i, std::cos(t), std::sin(t), noise, rng);
    else
      put(s, i, 1 - std::cos(t), 0.5 - std::sin(t), noise, rng);
  }
  return s;
}

// scikit-learn's make_circles with factor 0.5: class 0 on the unit circle, class 1 on radius 0.5.
PointSet circles_points(const ToyOptions& o, double noise, int) {
  PointSet s = empty_set(o.n, 2);
  Rng rng(o.seed);
  for (int64_t i = 0; i < o.n; ++i) {
    const double t = 2 * M_PI * rng.uniform(), r = s.y[i] == 0 ? 1.0 : 0.5;
    put(s, i, r * std::cos(t), r * std::sin(t), noise, rng);
  }
  return s;
}

// Arm j: radius r in (0, 1], angle 2 pi (j / k + r): one full turn per arm, the arms a third of the radius
// apart along any ray for k = 3. r = sqrt(u) spreads the points evenly over the disc, so few sit at the
// centre where the arms meet.
PointSet spiral_points(const ToyOptions& o, double noise, int k) {
  PointSet s = empty_set(o.n, k);
  Rng rng(o.seed);
  for (int64_t i = 0; i < o.n; ++i) {
    const double r = std::sqrt(rng.uniform()), t = 2 * M_PI * (double(s.y[i]) / k + r);
    put(s, i, r * std::cos(t), r * std::sin(t), noise, rng);
  }
  return s;
}

// k blobs centred evenly on the unit circle, each with standard deviation `noise`.
PointSet blob_points(const ToyOptions& o, double noise, int k) {
  PointSet s = empty_set(o.n, k);
  Rng rng(o.seed);
  for (int64_t i = 0; i < o.n; ++i) {
    const double t = 2 * M_PI * double(s.y[i]) / k;
    put(s, i, std::cos(t), std::sin(t), noise, rng);
  }
  return s;
}

const ToyKind* find_kind(const std::string& name) {
  for (const ToyKind& k : toy_kinds())
    if (name == k.name) return &k;
  return nullptr;
}

std::string kind_names() {
  std::string s;
  for (const ToyKind& k : toy_kinds())
    s += (s.empty() ? "" : ", ") + std::string(k.name) + (k.default_k ? "[:k]" : "");
  return s;
}

}  // namespace

const std::vector<ToyKind>& toy_kinds() {
  static const std::vector<ToyKind> kinds = {
      {"xor", "the four corners (+-1, +-1), class 1 where the signs differ", 0.1, 0, xor_points},
      {"moons", "two interleaved half circles (scikit-learn's make_moons)", 0.1, 0, moons_points},
      {"circles", "two concentric circles, radii 1 and 0.5", 0.05, 0, circles_points},
      {"spirals", "k spiral arms, one turn each (k = 3 unless spirals:k)", 0.05, 3, spiral_points},
      {"blobs", "k Gaussian blobs on the unit circle (k = 3 unless blobs:k)", 0.2, 3, blob_points},
  };
  return kinds;
}

bool is_toy_spec(const std::string& spec) {
  return find_kind(spec.substr(0, spec.find(':'))) != nullptr;
}

PointSet make_toy_points(const std::string& spec, const ToyOptions& options) {
  const size_t colon = spec.find(':');
  const ToyKind* kind = find_kind(spec.substr(0, colon));
  if (!kind) throw InputError("unknown point set '" + spec + "' (expected " + kind_names() + ")");
  int k = kind->default_k;
  if (colon != std::string::npos) {
    if (!kind->default_k) throw InputError("'" + spec + "': " + kind->name + " has no :k (it has 2 classes)");
    const std::string text = spec.substr(colon + 1);
    size_t used = 0;
    try {
      k = std::stoi(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size())
      throw InputError("'" + spec + "': '" + text + "' is not a number of classes");
  }
  if (kind->default_k && k < 2)
    throw InputError("'" + spec + "': " + std::to_string(k) + " classes, at least 2 are needed");
  if (options.n < 1)
    throw InputError("'" + spec + "': n = " + std::to_string(options.n) + " points, at least 1 is needed");
  const double noise = options.noise.value_or(kind->default_noise);
  if (!(noise >= 0) || !std::isfinite(noise))
    throw InputError("'" + spec + "': noise " + number_text(noise) + " must be finite and not negative");
  PointSet s = kind->make(options, noise, k);
  char source[160];
  std::snprintf(source, sizeof source, "%s n=%lld noise=%g seed=%llu",
                kind->default_k ? (std::string(kind->name) + ":" + std::to_string(k)).c_str() : kind->name,
                (long long)options.n, noise, (unsigned long long)options.seed);
  s.source = source;
  return s;
}

}  // namespace resid
