// resid run MODEL (--prompt TEXT | --tokens IDS): each position's token and its top-k next tokens.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/interventions_cli.h"
#include "core/activations.h"
#include "core/error.h"

namespace resid::cli {

namespace {
std::vector<int> top_k(const float* row, int n, int k) {
  std::vector<int> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  k = std::min(k, n);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int a, int b) { return row[a] > row[b]; });
  idx.resize(k);
  return idx;
}

// Pads to `width` terminal columns: UTF-8 continuation bytes take no column ("▁Once" is 5 columns, 7 bytes).
std::string pad_columns(const std::string& s, size_t width) {
  size_t columns = 0;
  for (unsigned char ch : s) columns += (ch & 0xC0) != 0x80;
  return columns >= width ? s : s + std::string(width - columns, ' ');
}

std::string shown_piece(const Tokenizer* tok, int id) {
  if (!tok) return std::to_string(id);
  return tok->piece(id);
}
}  // namespace

int run_run(const std::vector<std::string>& args) {
  ModelOptions model_opts;
  std::string prompt, tokens_arg;
  int k = 5;
  bool as_json = false, all_logits = false, no_bos = false;
  po::options_description desc("resid run options");
  desc.add_options()("model", po::value(&model_opts.model)->required(), "model path")(
      "prompt", po::value(&prompt), "text to run (encoded with BOS)")(
      "tokens", po::value(&tokens_arg), "comma-separated token ids, e.g. 1,403,407 (run as given)")(
      "no-bos", po::bool_switch(&no_bos), "do not prepend BOS to --prompt")(
      "top-k", po::value(&k)->default_value(5), "next-token candidates shown per position")(
      "json", po::bool_switch(&as_json),
      "print JSON: tokens, per-position top-k with logits and probabilities")(
      "all-logits", po::bool_switch(&all_logits),
      "with --json: include the full logit vector of every position");
  model_opts.add_to(desc);
  InterventionOptions interventions;
  po::options_description intervention_desc("interventions (hook patterns as in `resid hooks`)");
  interventions.add_to(intervention_desc);
  desc.add(intervention_desc);
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  if (!parse(args, desc, pos, vm,
             "resid run MODEL (--prompt TEXT | --tokens 1,403,...) [--top-k K] [--json]"))
    return 0;
  if (vm.count("prompt") == vm.count("tokens")) throw InputError("give exactly one of --prompt and --tokens");
  if (k < 1) throw InputError("--top-k = " + std::to_string(k) + " must be at least 1");

  const LoadedModel m = model_opts.load();
  const Transformer& model = require_transformer(m);
  const Tokenizer* tok = m.tokenizer.get();
  std::vector<int32_t> ids;
  if (vm.count("prompt")) {
    for (int id : require_tokenizer(m).encode(prompt, !no_bos)) ids.push_back(id);
    if (ids.empty()) throw InputError("--prompt encodes to no tokens");
  } else {
    ids = parse_token_list(tokens_arg);
  }
  HookSet hooks;
  interventions.install(m, hooks);
  ForwardOptions forward_options;
  forward_options.hooks = hooks.empty() ? nullptr : &hooks;
  const RowMatrix logits = model.forward(TokenBatch::single(ids), forward_options);  // [n_pos, d_vocab]
  const int vocab = static_cast<int>(logits.cols());
  for (Eigen::Index r = 0; r < logits.rows(); ++r)
    for (int v = 0; v < vocab; ++v)
      if (!std::isfinite(logits(r, v)))
        throw InputError(m.path + ": non-finite logit at position " + std::to_string(r) +
                         " (NaN/inf in the weights?)");

  nlohmann::json out;
  out["model"] = m.path;
  out["tokens"] = ids;
  for (size_t p = 0; p < ids.size(); ++p) {
    const float* row = logits.data() + p * vocab;
    std::vector<float> probs = softmax({row, static_cast<size_t>(vocab)});
    nlohmann::json position = {{"pos", p}, {"token", ids[p]}, {"piece", shown_piece(tok, ids[p])}};
    for (int id : top_k(row, vocab, k))
      position["top"].push_back(
          {{"id", id}, {"piece", shown_piece(tok, id)}, {"logit", row[id]}, {"prob", probs[id]}});
    if (all_logits) position["logits"] = std::vector<float>(row, row + vocab);
    out["positions"].push_back(position);
  }
  if (as_json) {
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::printf("%4s %8s  %-16s  top-%d next tokens (probability)\n", "pos", "id", "token", k);
  for (const auto& position : out["positions"]) {
    std::printf("%4d %8d  %s ", position["pos"].get<int>(), position["token"].get<int>(),
                pad_columns("'" + position["piece"].get<std::string>() + "'", 16).c_str());
    for (const auto& t : position["top"])
      std::printf(" '%s' %.3f", t["piece"].get<std::string>().c_str(), t["prob"].get<float>());
    std::printf("\n");
  }
  return 0;
}

}  // namespace resid::cli
