// The one capture layout the resume harness and its seeds share: a partial file the seeds write is a file the
// harness's resume() accepts, so mutations start from a file that gets past the fingerprint checks.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "capture/activation_file.h"

namespace resid::fuzz {

struct CaptureLayout {
  ActivationFileInfo info;
  std::vector<HookDatasetSpec> hooks;
  std::vector<LabelColumn> labels;
  int64_t rows = 0;
};

inline CaptureLayout capture_layout() {
  constexpr int64_t kNPos = 4;
  CaptureLayout l;
  l.info.resid_version = "fuzz";
  l.info.model_path = "tiny.gguf";
  l.info.model_sha256 = std::string(64, 'a');
  l.info.model_config_json = R"({"d_model": 4})";
  l.info.tokenizer = "embedded";
  l.info.dataset_path = "ids.tokens";
  l.info.dataset_sha256 = std::string(64, 'b');
  l.info.dataset_description = "tokens";
  l.info.positions = "all";
  l.info.n_pos = kNPos;
  l.hooks = {{"blocks.0.hook_resid_post", 0, "none", {kNPos, 4}}, {"blocks.0.mlp.hook_post", 0, "last", {3}}};
  l.labels = {{"y", LabelColumn::Kind::SequenceNumber, {}},
              {"pos", LabelColumn::Kind::TokenClass, {"a", "b"}}};
  l.rows = 6;
  return l;
}

}  // namespace resid::fuzz
