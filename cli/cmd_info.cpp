// resid info MODEL: what was loaded, its config, parameter count and tensor table.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"

namespace resid::cli {

int run_info(const std::vector<std::string>& args) {
  ModelOptions model_opts;
  bool as_json = false;
  po::options_description desc("resid info options");
  desc.add_options()("model", po::value(&model_opts.model)->required(), "model path")(
      "json", po::bool_switch(&as_json), "print machine-readable JSON");
  model_opts.add_to(desc);
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  if (!parse(args, desc, pos, vm, "resid info MODEL [--json] [--tokenizer FILE]")) return 0;

  const LoadedModel m = model_opts.load();
  nlohmann::json j;
  j["path"] = m.path;
  j["format"] = m.format_detail;
  if (m.transformer) {
    const Config& c = m.transformer->config();
    j["family"] = "llama";
    j["config"] = c.to_json();
    j["ffn"] = c.ffn_name();
    j["parameters"] = c.parameter_count();
  } else {
    j["family"] = "mlp";
    j["widths"] = m.mlp->config().widths;
    j["act_fn"] = act_fn_name(m.mlp->config().act_fn);
    int64_t params = 0;
    for (const Linear& l : m.mlp->layers()) params += l.weight.numel() + l.bias.numel();
    j["parameters"] = params;
  }
  j["tokenizer"] = m.tokenizer ? m.tokenizer->describe() : "none";
  j["notes"] = m.notes;
  for (const TensorRecord& t : m.tensors)
    j["tensors"].push_back(
        {{"name", t.name}, {"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"mapped", t.mapped}});
  if (as_json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }

  std::cout << "model      " << m.path << "\nformat     " << m.format_detail << "\n";
  if (m.transformer) {
    const Config& c = m.transformer->config();
    std::printf("family     Llama (%s FFN, %s rotary, %s embeddings)\n", c.ffn_name().c_str(),
                rotary_style_name(c.rotary_style).c_str(), c.tied_embeddings ? "tied" : "untied");
    std::printf(
        "d_model %d  n_layers %d  n_heads %d  n_kv_heads %d  d_head %d  d_mlp %d  d_vocab %d  n_ctx %d\n",
        c.d_model, c.n_layers, c.n_heads, c.n_kv_heads, c.d_head, c.d_mlp, c.d_vocab, c.n_ctx);
    std::printf("eps %g  rotary_base %g\n", c.eps, c.rotary_base);
  } else {
    std::cout << "family     plain MLP, widths";
    for (int w : m.mlp->config().widths) std::cout << " " << w;
    std::cout << ", " << act_fn_name(m.mlp->config().act_fn) << " between layers\n";
  }
  std::cout << "parameters " << j["parameters"].get<int64_t>() << "\n";
  std::cout << "tokenizer  " << j["tokenizer"].get<std::string>() << "\n";
  for (const std::string& note : m.notes) std::cout << "note       " << note << "\n";
  std::printf("\n%-48s %-6s %-18s %s\n", "tensor", "dtype", "shape", "storage");
  for (const TensorRecord& t : m.tensors)
    std::printf("%-48s %-6s %-18s %s\n", t.name.c_str(), dtype_name(t.dtype).c_str(),
                shape_string(t.shape).c_str(), t.mapped ? "mapped" : "converted to F32");
  return 0;
}

}  // namespace resid::cli
