#include "test_support.h"

#include <random>
#include <unistd.h>

namespace resid::testing {

std::string shared_path(const std::string& relative) {
  std::filesystem::path p = std::filesystem::path(RESID_SHARED_DIR) / relative;
  return std::filesystem::exists(p) ? p.string() : std::string();
}

TempDir::TempDir() {
  static int counter = 0;
  std::random_device rd;
  path_ = std::filesystem::path(RESID_BINARY_DIR) / "test-tmp" /
          ("t" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Config tiny_config() {
  Config c;
  c.d_model = 64;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.d_head = 16;
  c.d_mlp = 96;
  c.d_vocab = 128;
  c.n_ctx = 64;
  return c;
}

std::string resid_binary() { return (std::filesystem::path(RESID_BINARY_DIR) / "cli" / "resid").string(); }

}  // namespace resid::testing
