// Capturing a plain MLP (core/mlp.h) over a set of vectors (MNIST images, points of the plane): one row per
// example, each hook's row its [width] activation. The file is an ordinary activation file (docs/
// activation-file-format.md) with n_pos = 1 and lengths 1; an MLP reads no tokens, so /tokens holds each
// example's index, which makes the probes' control task give every example its own random label.
#pragma once
#include <string>
#include <vector>

#include "capture/activation_file.h"
#include "capture/capture.h"
#include "core/hook_site.h"
#include "core/mlp.h"
#include "datasets/example.h"
#include "datasets/image_set.h"

namespace resid {

// An MLP's hook points in forward order: hook_embed, blocks.{i}.mlp.hook_pre and .hook_post for every hidden
// layer, unembed.hook_out.
std::vector<HookPointId> mlp_hook_points(const MlpConfig& config);
// The width of a point's activation.
int64_t mlp_hook_width(const MlpConfig& config, const HookPointId& point);
// Every pattern (glob or exact name) must select at least one point, else InputError naming the pattern and
// listing the MLP's hook names.
std::vector<HookPointId> select_mlp_hooks(const MlpConfig& config, const std::vector<std::string>& patterns);

// A per-example label column beside the data's class (e.g. "arm" of a spiral, "outer" radius): SequenceClass
// (values are class ids, -1 for none) or SequenceNumber.
struct VectorLabel {
  LabelColumn column;
  std::vector<double> values;  // [n]
};

// Writes `out_path`. The data's own labels (if any) become the SequenceClass column "class" (classes "0",
// "1", ...). Uses options.hook_patterns, batch_size, max_rows, writer, resume, stop, on_progress and
// on_start; positions and n_pos do not apply (InputError when set). Info's model and dataset fields are the
// caller's.
CaptureResult capture_mlp(const Mlp& model, const ImageSet& data,
                          const std::vector<VectorLabel>& extra_labels, const std::string& out_path,
                          ActivationFileInfo info, const CaptureOptions& options);

}  // namespace resid
