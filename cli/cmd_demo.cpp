// resid demo: the embedded default job. Builds a small seeded Llama model with a byte-level
// SentencePiece-style vocabulary, saves it as GGUF, loads it back through the normal loader, and shows what
// resid does with it: the tensor summary, next-token predictions, the residual stream's norm after every
// block, and generation. Everything is computed; nothing needs to be downloaded.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "core/formats/gguf.h"
#include "core/generate.h"
#include "core/tokenizer/spm_tokenizer.h"
#include "hooks/run_with_cache.h"

namespace fs = std::filesystem;

namespace resid::cli {

namespace {
// <unk>, <s>, </s>, 256 byte pieces, then "▁" and printable ASCII characters and a few common merges.
SpmVocab demo_vocab() {
  SpmVocab v;
  auto add = [&](std::string piece, float score, PieceType type) {
    v.pieces.push_back(std::move(piece));
    v.scores.push_back(score);
    v.types.push_back(type);
  };
  add("<unk>", 0, PieceType::Unknown);
  add("<s>", 0, PieceType::Control);
  add("</s>", 0, PieceType::Control);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    add(name, 0, PieceType::Byte);
  }
  add("\u2581", -1, PieceType::Normal);
  for (char ch = '!'; ch <= '~'; ++ch) add(std::string(1, ch), -2, PieceType::Normal);
  float score = -3;
  // Each merge joins two pieces already in the vocabulary, as BPE-style SentencePiece vocabularies do.
  const std::string sp = "\u2581";  // "▁", SentencePiece's space
  for (const std::string& merge :
       {sp + "t", sp + "a", sp + "u", sp + "O", std::string("he"), std::string("ce"), std::string("nce"),
        sp + "On", sp + "Once", sp + "the", std::string("on"), sp + "up", sp + "upon", std::string("me"),
        sp + "ti", sp + "time"})
    add(merge, score -= 0.1f, PieceType::Normal);
  return v;
}
}  // namespace

int run_demo(const std::vector<std::string>& args) {
  std::string out_dir, prompt = "Once upon a time";
  uint64_t seed = 1;
  po::options_description desc("resid demo options");
  desc.add_options()("out", po::value(&out_dir), "keep the generated model in this directory")(
      "prompt", po::value(&prompt)->default_value(prompt), "prompt to run")(
      "seed", po::value(&seed)->default_value(1), "seed of the model's weights");
  po::positional_options_description pos;
  po::variables_map vm;
  if (!parse(args, desc, pos, vm, "resid demo [--out DIR] [--prompt TEXT] [--seed S]")) return 0;

  const bool keep = !out_dir.empty();
  if (!keep) out_dir = (fs::temp_directory_path() / ("resid-demo-" + std::to_string(::getpid()))).string();
  if (fs::exists(out_dir) && !fs::is_directory(out_dir))
    throw InputError("--out " + out_dir + ": exists and is not a directory");
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) throw InputError("--out " + out_dir + ": cannot create directory: " + ec.message());
  const std::string path = (fs::path(out_dir) / "demo-llama.gguf").string();

  SpmTokenizer tokenizer(demo_vocab(), "demo byte-level vocabulary");
  Config c;
  c.d_model = 64, c.n_layers = 4, c.n_heads = 4, c.n_kv_heads = 2, c.d_head = 16, c.d_mlp = 172;
  c.d_vocab = tokenizer.vocab_size(), c.n_ctx = 128;
  std::printf("== resid demo: a seeded Llama model (seed %llu), saved as GGUF and loaded back\n",
              (unsigned long long)seed);
  write_gguf(path, c, random_weights(c, seed), &tokenizer);
  const LoadedModel m = load_model(path);
  const Transformer& model = *m.transformer;
  std::printf(
      "%s\n  %s, d_model %d, n_layers %d, n_heads %d (n_kv_heads %d), d_mlp %d, d_vocab %d, %lld "
      "parameters\n",
      path.c_str(), m.format_detail.c_str(), c.d_model, c.n_layers, c.n_heads, c.n_kv_heads, c.d_mlp,
      c.d_vocab, (long long)c.parameter_count());

  std::vector<int32_t> ids;
  for (int id : m.tokenizer->encode(prompt, true)) ids.push_back(id);
  std::printf("\n== the prompt \"%s\" is %zu tokens:", prompt.c_str(), ids.size());
  for (int32_t id : ids) std::printf(" %s", m.tokenizer->piece(id).c_str());

  // One forward with every hook_resid_post recorded.
  const CachedRun run =
      run_with_cache(model, TokenBatch::single(ids), {"blocks.*.hook_resid_post", "hook_embed"});
  const RowMatrix& logits = run.logits;
  const int last = static_cast<int>(ids.size()) - 1;
  std::printf(
      "\n\n== residual stream norm at the last position after each write (hook names as in "
      "TransformerLens)\n");
  for (const HookPointId& p : run.points) {
    const StoredActivation& a = run.cache.at(p);
    const Eigen::Map<const Eigen::VectorXf> row(a.values.data() + last * c.d_model, c.d_model);
    std::printf("  %-28s %8.4f\n", hook_name(p.site, p.layer).c_str(), row.norm());
  }
  std::printf("\n== top next tokens after the prompt (an untrained model: close to uniform over %d)\n",
              c.d_vocab);
  std::vector<float> row(logits.row(last).data(), logits.row(last).data() + c.d_vocab);
  Sampler greedy(0, 1, 0);
  std::printf("  argmax: %s\n", m.tokenizer->piece(greedy.sample(row)).c_str());

  std::printf("\n== 24 sampled tokens (temperature 1, seed 7)\n  ");
  Sampler sampler(1.0f, 1.0f, 7);
  GenerateOptions gen;
  gen.steps = static_cast<int>(ids.size()) + 24;
  const auto out = generate(model, ids, sampler, gen);
  std::printf("%s\n", m.tokenizer->decode(out).c_str());
  std::printf(
      "\nTry it on a real model: resid run MODEL --prompt TEXT, resid hooks MODEL, resid capture ...\n");
  if (!keep) fs::remove_all(out_dir);
  return 0;
}

}  // namespace resid::cli
