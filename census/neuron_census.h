// The dead-neuron census: per MLP neuron, how often it fires over every real (non-pad) token, or every
// example of the plain-MLP family, with its mean, max and mean-when-active. It only counts, storing no
// activations, so its memory does not grow with the data and its order of accumulation (token order, in
// double) does not depend on the batch size.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/hook_visitor.h"

namespace resid {

// When a neuron fires. ReLU-family FFNs: its post-activation (mlp.hook_post) exceeds the threshold. Gated
// FFNs (SwiGLU, GeGLU): its gate pre-activation (mlp.hook_pre) does, because SiLU/GELU are never exactly
// zero.
enum class FiringRule { PostActivation, GatePreActivation };
FiringRule firing_rule_for(const Config& config);  // GatePreActivation when config.gated_mlp
HookSite firing_hook_site(FiringRule rule);        // MlpPost or MlpPre
std::string firing_rule_name(FiringRule rule);     // "post_activation", "gate_pre_activation"

struct CensusOptions {
  double threshold = 0;  // a neuron fires when its value > threshold
  std::vector<double> rare_densities = {1e-5,
                                        1e-3};  // report alive neurons firing on fewer than this fraction
  double histogram_min_log10 = -7;              // left edge of the first log10-density bin
  int bins_per_decade = 2;
  // Throws InputError naming the field ("rare density 2 is not in (0, 1]").
  void validate() const;
  // log10(density) bin edges: histogram_min_log10, ..., 0. Bin 0 also takes alive neurons below its left
  // edge.
  std::vector<double> histogram_edges_log10() const;
};

// One layer's counts. Accumulators are in double (sums over millions of tokens) except max.
struct LayerCensus {
  int layer = 0;
  std::string hook;  // "blocks.3.mlp.hook_pre"
  int64_t n_tokens = 0;
  std::vector<int64_t> fires;      // [width] tokens on which the neuron fired
  std::vector<double> sum;         // [width] sum of the hooked value over all tokens
  std::vector<double> sum_active;  // [width] ... over the tokens where it fired
  std::vector<float> max;          // [width] -inf before any token

  LayerCensus() = default;
  LayerCensus(int layer, std::string hook, int width);
  int width() const { return static_cast<int>(fires.size()); }

  // rows: [n_rows, width] row-major, every row a real token.
  void add_rows(const float* rows, int64_t n_rows, double threshold);
  // A hook's activation: [batch, pos, width] counting only the first lengths[b] positions of each row (pads
  // are skipped), or [batch, width] (the plain MLP) counting every row.
  void add(const ActivationView& act, double threshold);

  double density(int j) const;  // fires / n_tokens (0 when no tokens)
  double mean(int j) const;
  double mean_active(int j) const;                 // NaN when it never fired
  std::vector<int32_t> dead_ids() const;           // never fired
  int64_t rare_count(double density_below) const;  // fired, but on < density_below of the tokens
  std::vector<int64_t> histogram(
      const CensusOptions& o) const;  // over alive neurons; see histogram_edges_log10
};

struct CensusResult {
  FiringRule rule = FiringRule::PostActivation;
  std::string ffn;  // Config::ffn_name(): "SwiGLU", "ReLU MLP", ...
  CensusOptions options;
  std::string source;      // the model (or capture) path
  std::string data;        // what was counted over ("tinystories_sample.txt (text)", "t10k-images...")
  int64_t n_examples = 0;  // sequences or images
  bool partial = false;    // a capture that was not complete: only its committed rows
  // Accuracy of the plain MLP when labels were given (n_labelled > 0).
  int64_t n_labelled = 0, n_correct = 0;
  std::vector<LayerCensus> layers;

  // "a neuron fires when blocks.L.mlp.hook_pre > 0 (the gate pre-activation of the SwiGLU FFN, ...)"
  std::string rule_description() const;
  double accuracy() const { return n_labelled ? double(n_correct) / double(n_labelled) : 0; }
};

}  // namespace resid
