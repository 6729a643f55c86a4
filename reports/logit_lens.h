// The logit lens (nostalgebraist 2020): the final norm and the unembedding applied to the residual stream
// before the first block and after every block, giving each layer's guess of the next token at each position.
#pragma once
#include <string>
#include <vector>

#include "core/tokenizer/tokenizer.h"
#include "core/transformer.h"
#include "reports/prompt_run.h"
#include "reports/report.h"

namespace resid {

struct LensCell {
  int layer;  // -1: the embedding (blocks.0.hook_resid_pre); L: after block L
  int position;
  int top_id;
  float top_prob;
  float next_prob;  // probability of the prompt's actual next token (NaN at the last position)
  int next_rank;    // its rank among all tokens, 1 = top (-1 at the last position)
};

// [(n_layers + 1) * n_pos] cells, layer-major, embedding first. The last layer's row equals the model's
// output.
std::vector<LensCell> logit_lens(const Transformer& model, const PromptRun& run);

Section logit_lens_section(const Transformer& model, const Tokenizer& tokenizer, const PromptRun& run);

}  // namespace resid
