// Seeded 2-D classification problems, the plane that each ReLU folds: XOR, two moons, concentric circles,
// k-arm spirals and Gaussian blobs. Every point is drawn from core/init.h's generator, so a seed gives the
// same points on every machine. `noise` is the standard deviation of Gaussian noise added to both coordinates
// (blobs: each blob's standard deviation).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "datasets/point_set.h"

namespace resid {

struct ToyOptions {
  int64_t n = 1000;             // points in all, shared between the classes as evenly as possible
  std::optional<double> noise;  // unset: the kind's default_noise
  uint64_t seed = 0;
};

// One row per kind: its name in a spec, what it draws, its defaults.
struct ToyKind {
  const char* name;
  const char* description;
  double default_noise;
  int default_k;  // spirals: arms, blobs: blobs, each one class (spec "name:k"); 0: a fixed 2 classes
  PointSet (*make)(const ToyOptions& options, double noise, int k);
};
const std::vector<ToyKind>& toy_kinds();

// True when `spec` names a kind: "xor", "moons", "circles", "spirals", "spirals:5", "blobs:4".
bool is_toy_spec(const std::string& spec);

// Draws the points `spec` names. InputError for an unknown kind, ":k" on a kind without k, k < 2, n < 1 or a
// noise that is negative or not finite. The set's source spells out every parameter ("spirals:3 n=1000
// noise=0.05 seed=0").
PointSet make_toy_points(const std::string& spec, const ToyOptions& options);

}  // namespace resid
