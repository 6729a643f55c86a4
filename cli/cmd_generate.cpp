// resid generate MODEL --prompt TEXT: autoregressive text, streamed as it is produced.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/flag_names.h"
#include "core/error.h"
#include "core/generate.h"
#include "core/number_text.h"

namespace resid::cli {

int run_generate(const std::vector<std::string>& args) {
  ModelOptions model_opts;
  std::string prompt;
  int steps = 256;
  float temperature = 0.0f, top_p = 0.9f;
  uint64_t seed = 42;
  bool quiet = false;
  po::options_description desc("resid generate options");
  desc.add_options()("model", po::value(&model_opts.model)->required(), "model path")(
      "prompt", po::value(&prompt)->default_value(""),
      "text to continue (encoded with BOS; empty = from BOS)")(
      "steps", po::value(&steps)->default_value(256), "positions to run, prompt included (capped at n_ctx)")(
      "temperature", po::value(&temperature)->default_value(0.0f),
      "0 = greedy; otherwise sample softmax(logits / T)")("top-p", po::value(&top_p)->default_value(0.9f),
                                                          "nucleus sampling threshold when temperature > 0")(
      "seed", po::value(&seed)->default_value(42), "sampling seed")("quiet", po::bool_switch(&quiet),
                                                                    "no timing line on stderr");
  model_opts.add_to(desc);
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  if (!parse(args, desc, pos, vm,
             "resid generate MODEL [--prompt TEXT] [--steps N] [--temperature T] [--seed S]"))
    return 0;
  if (steps < 1) throw InputError("--steps = " + std::to_string(steps) + " must be at least 1");
  // NaN fails every comparison, so the ranges are written as what is accepted.
  if (!(temperature == 0.0f || (std::isfinite(temperature) && temperature >= Sampler::kMinTemperature)))
    throw InputError("--temperature " + number_text(temperature) +
                     " must be 0 (greedy) or a finite value >= " + number_text(Sampler::kMinTemperature));
  if (!(top_p > 0.0f && top_p <= 1.0f))
    throw InputError("--top-p " + number_text(top_p) + " must be in (0, 1]");

  const LoadedModel m = model_opts.load();
  const Transformer& model = require_transformer(m);
  const Tokenizer& tok = require_tokenizer(m);
  std::vector<int32_t> ids;
  for (int id : tok.encode(prompt, true)) ids.push_back(id);

  const int positions = std::min(steps, model.config().n_ctx);
  if (static_cast<int>(ids.size()) > positions)
    throw InputError("the prompt is " + std::to_string(ids.size()) +
                     " tokens, more than --steps/n_ctx = " + std::to_string(positions));
  std::cout << tok.decode(ids) << std::flush;
  Sampler sampler(temperature, top_p, seed);
  GenerateOptions options;
  options.steps = steps;
  options.stop_token_a = tok.bos_id();
  options.stop_token_b = tok.eos_id();
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  Clock::time_point first_token;  // the prompt's forward (and the weights' first page-in) ends here
  const auto out = with_flag_names([&] {
    return generate(model, ids, sampler, options, [&](int32_t prev, int32_t next) {
      if (first_token == Clock::time_point()) first_token = Clock::now();
      std::cout << tok.decode_token(prev, next) << std::flush;
    });
  });
  const Clock::time_point end = Clock::now();
  std::cout << "\n";
  const size_t generated = out.size() - ids.size();
  if (!quiet) {
    const double seconds = std::chrono::duration<double>(end - start).count();
    std::fprintf(stderr, "generated %zu tokens in %.3f s (%.1f tokens/s", generated, seconds,
                 generated / std::max(seconds, 1e-9));
    // Each token after the first took one KV-cached step: the decode rate llama.cpp's tg reports.
    const double steps_seconds = std::chrono::duration<double>(end - first_token).count();
    if (generated > 1 && steps_seconds > 0)
      std::fprintf(stderr, "; %.1f tokens/s after the prompt's forward", (generated - 1) / steps_seconds);
    std::fprintf(stderr, ")\n");
  }
  return 0;
}

}  // namespace resid::cli
