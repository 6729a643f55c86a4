// Hugging Face config.json: the fuzzed bytes are the config of a directory whose model.safetensors holds a
// valid tiny checkpoint, so a config that parses goes on to be checked against real tensors.
#include <filesystem>

#include "core/formats/hf_checkpoint.h"
#include "core/weights.h"
#include "fuzz/fuzz_support.h"

namespace {

resid::Config tiny_config() {
  resid::Config c;
  c.d_model = 16;
  c.n_layers = 1;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.d_head = 8;
  c.d_mlp = 32;
  c.d_vocab = 32;
  c.n_ctx = 16;
  c.rotary_style = resid::RotaryStyle::Half;
  return c;
}

const std::string& checkpoint_dir() {
  static const std::string dir = [] {
    const std::string d = resid::fuzz::scratch_dir() + "/hf";
    std::filesystem::create_directories(d);
    const resid::Config c = tiny_config();
    resid::save_hf_checkpoint(d, c, resid::random_weights(c, 1));
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& dir = checkpoint_dir();
  resid::fuzz::write_input(data, size, "hf/config.json");
  resid::fuzz::expect_resid_errors_only([&] { resid::load_hf_checkpoint(dir); });
  return 0;
}
