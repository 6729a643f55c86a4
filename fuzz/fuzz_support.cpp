#include "fuzz/fuzz_support.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

namespace resid::fuzz {

const std::string& scratch_dir() {
  static const std::string dir = [] {
    // /dev/shm when there is one: a file is written per execution, and tmpfs keeps that off the disk.
    const std::filesystem::path base = std::filesystem::is_directory("/dev/shm")
                                           ? std::filesystem::path("/dev/shm")
                                           : std::filesystem::temp_directory_path();
    const std::string d = (base / ("resid-fuzz-" + std::to_string(::getpid()))).string();
    std::filesystem::create_directories(d);
    // A plain buffer: the atexit handler may run after the static string is destroyed.
    static char for_cleanup[4096];
    std::snprintf(for_cleanup, sizeof for_cleanup, "%s", d.c_str());
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(for_cleanup, ec);
    });
    return d;
  }();
  return dir;
}

std::string write_input(const uint8_t* data, size_t size, const std::string& name) {
  const std::string path = scratch_dir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) std::abort();  // the harness, not the code under test, failed
  return path;
}

std::unique_ptr<SpmTokenizer> make_tokenizer() {
  SpmVocab v;
  auto add = [&v](const std::string& piece) {
    if (std::find(v.pieces.begin(), v.pieces.end(), piece) == v.pieces.end()) v.pieces.push_back(piece);
  };
  add("<unk>");
  add("<s>");
  add("</s>");
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    add(buf);
  }
  for (const std::string w :
       {"▁", "▁the", "▁The", "▁cat", "ed", ".", ",", "\"", "▁\"", "Hi", "▁said", "▁a", "12"}) {
    for (size_t i = 1; i < w.size(); ++i)
      if ((static_cast<unsigned char>(w[i]) & 0xC0) != 0x80) add(w.substr(0, i));
    add(w);
  }
  v.scores.resize(v.pieces.size());
  for (size_t i = 0; i < v.scores.size(); ++i) v.scores[i] = -static_cast<float>(i % 7);
  return std::make_unique<SpmTokenizer>(std::move(v), "fuzz vocabulary");
}

const SpmTokenizer& tokenizer() {
  static const std::unique_ptr<SpmTokenizer> tok = make_tokenizer();
  return *tok;
}

}  // namespace resid::fuzz
