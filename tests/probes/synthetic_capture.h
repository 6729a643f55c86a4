// Small synthetic captures for the probe tests, written with ActivationFileWriter so the suite needs no model
// and nothing from ../shared. Token labels ("none"/"no"/"yes" like the rule labels) are read linearly from
// the activations with a strength that grows with the layer; a sequence class and a sequence number too.
// Optionally a NaN or infinity at one place, or a capture killed after some committed rows.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "capture/activation_file.h"

namespace resid::testing {

struct SyntheticCapture {
  int64_t rows = 60, n_pos = 12, d = 16;
  int layers = 3;
  uint64_t seed = 1;
  int nan_row = -1, nan_pos = 0;  // put `bad_value` into layer 0 here
  float bad_value = NAN;
  // A capture that was killed: only the first `committed_rows` rows are committed (-1: all, and finished).
  // The rows after them are appended (written in place) but never committed, as a killed writer leaves them.
  int64_t committed_rows = -1;
};

// Hooks blocks.<l>.hook_resid_post ([n_pos, d]); labels: "quote" (token_class: none/no/yes), "topic"
// (sequence_class a/b/c), "score" (sequence_number).
// With committed_rows >= 0 the writer is returned open, its last rows appended but not committed: destroying
// it leaves a killed capture; keeping it, a capture still running.
inline std::unique_ptr<ActivationFileWriter> write_synthetic_capture(const std::string& path,
                                                                     const SyntheticCapture& s) {
  ActivationFileInfo info;
  info.resid_version = "test";
  info.model_path = "synthetic";
  info.model_sha256 = std::string(64, 'a');
  info.dataset_path = "synthetic.txt";
  info.dataset_sha256 = std::string(64, 'b');
  info.command_line = "synthetic";
  info.created = "2026-01-01T00:00:00Z";
  info.positions = "all";
  info.n_pos = s.n_pos;
  std::vector<HookDatasetSpec> hooks;
  for (int l = 0; l < s.layers; ++l)
    hooks.push_back({"blocks." + std::to_string(l) + ".hook_resid_post", l, "none", {s.n_pos, s.d}});
  std::vector<LabelColumn> labels = {{"quote", LabelColumn::Kind::TokenClass, {"none"}},
                                     {"topic", LabelColumn::Kind::SequenceClass, {}},
                                     {"score", LabelColumn::Kind::SequenceNumber, {}}};
  labels[0].class_id("no"), labels[0].class_id("yes");
  for (const char* t : {"a", "b", "c"}) labels[1].class_id(t);
  WriterOptions wo;
  wo.force = true;
  wo.rows = s.rows;
  auto w = ActivationFileWriter::create(path, info, hooks, labels, wo);
  std::mt19937_64 rng(s.seed);
  std::normal_distribution<float> noise(0.f, 1.f);
  for (int64_t r = 0; r < s.rows; ++r) {
    const int32_t len = std::max<int32_t>(1, static_cast<int32_t>(s.n_pos / 2 + rng() % (s.n_pos / 2 + 1)));
    std::vector<int32_t> tokens(s.n_pos, -1), quote(s.n_pos, -1);
    const int topic = static_cast<int>(rng() % 3);
    const double score = static_cast<double>(noise(rng));
    for (int32_t p = 0; p < len; ++p) {
      tokens[p] = p == 0 ? 1 : static_cast<int32_t>(3 + rng() % 40);
      quote[p] = p == 0 ? 0 : 1 + static_cast<int32_t>(rng() % 2);  // BOS is "none"
    }
    std::vector<std::vector<float>> acts(s.layers, std::vector<float>(s.n_pos * s.d, 0.f));
    for (int l = 0; l < s.layers; ++l)
      for (int32_t p = 0; p < len; ++p) {
        float* v = acts[l].data() + p * s.d;
        for (int64_t j = 0; j < s.d; ++j) v[j] = noise(rng) + 3.0f;  // an offset the standardiser removes
        const float strength = 0.5f + 1.5f * l;
        v[0] += strength * (quote[p] == 2 ? 1.f : -1.f);
        v[1] += strength * static_cast<float>(topic);
        v[2] += strength * static_cast<float>(score);
      }
    if (static_cast<int64_t>(s.nan_row) == r) acts[0][s.nan_pos * s.d + 3] = s.bad_value;
    std::vector<const float*> ptrs;
    for (auto& a : acts) ptrs.push_back(a.data());
    w->append(1, tokens.data(), &len, {{}, {double(topic)}, {score}}, {quote, {}, {}}, ptrs);
    if (r + 1 == s.committed_rows) w->commit(labels);
  }
  if (s.committed_rows >= 0) return w;
  w->finish(labels);
  return nullptr;
}

// Shortens /labels/<label> by `by` rows below /committed_rows, as another tool might (datasets have a fixed
// size, so it writes a shorter copy with the same attributes). False when /usr/bin/python3 has no h5py.
inline bool shorten_label_column(const std::string& path, const std::string& label, int by) {
  if (std::system("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1") != 0) return false;
  const std::string cmd = "/usr/bin/python3 -c \"import h5py; f = h5py.File('" + path +
                          "', 'r+'); d = f['labels/" + label + "']; a = dict(d.attrs); x = d[:-" +
                          std::to_string(by) + "]; del f['labels/" + label + "']; f.create_dataset('labels/" +
                          label + "', data=x).attrs.update(a)\"";
  return std::system(cmd.c_str()) == 0;
}

}  // namespace resid::testing
