// fuzz_seeds OUT_DIR: seed inputs for every harness from resid's own writers (a tiny seeded model in each
// format, the fuzz tokenizer as tokenizer.bin) and small hand-written datasets. scripts/run-fuzzers.sh adds
// the real files of ../shared beside these; nothing here is committed.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "core/formats/gguf.h"
#include "core/formats/hf_checkpoint.h"
#include "core/formats/llama2c.h"
#include "core/formats/safetensors.h"
#include "core/weights.h"
#include "fuzz/fuzz_capture_layout.h"
#include "fuzz/fuzz_support.h"

namespace fs = std::filesystem;
using namespace resid;

namespace {

fs::path g_out;

void put(const std::string& harness, const std::string& name, const std::string& bytes) {
  fs::create_directories(g_out / harness);
  std::ofstream(g_out / harness / name, std::ios::binary) << bytes;
}

void copy_in(const std::string& harness, const std::string& name, const fs::path& from) {
  fs::create_directories(g_out / harness);
  fs::copy_file(from, g_out / harness / name, fs::copy_options::overwrite_existing);
}

// As small as a valid model gets, so seeds stay a few KiB and the fuzzer runs fast.
Config tiny_config(int vocab) {
  Config c;
  c.d_model = 8;
  c.n_layers = 1;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.d_head = 4;
  c.d_mlp = 16;
  c.d_vocab = vocab;
  c.n_ctx = 16;
  c.tied_embeddings = true;
  return c;
}

// llama2.c's tokenizer.bin: int32 max_token_length, then per piece f32 score, int32 length, bytes.
std::string tokenizer_bin(const SpmTokenizer& tok) {
  std::string out(4, '\0');
  int32_t max_len = 0;
  for (int id = 0; id < tok.vocab_size(); ++id) {
    const std::string p = tok.piece(id);
    const float score = tok.vocab().scores[id];
    const int32_t len = static_cast<int32_t>(p.size());
    max_len = std::max(max_len, len);
    out.append(reinterpret_cast<const char*>(&score), 4)
        .append(reinterpret_cast<const char*>(&len), 4)
        .append(p);
  }
  std::memcpy(out.data(), &max_len, 4);
  return out;
}

// A capture file of fuzz::capture_layout() holding `committed` of its rows (all of them: a complete file).
void write_capture(const fs::path& path, int64_t committed) {
  const fuzz::CaptureLayout l = fuzz::capture_layout();
  WriterOptions options;
  options.rows = l.rows;
  options.force = true;
  auto w = ActivationFileWriter::create(path.string(), l.info, l.hooks, l.labels, options);
  const int64_t n_pos = l.info.n_pos;
  for (int64_t r = 0; r < committed; ++r) {
    std::vector<int32_t> tokens(n_pos, -1), pos(n_pos, -1);  // [1, n_pos]
    const int32_t length = static_cast<int32_t>(1 + r % n_pos);
    for (int32_t p = 0; p < length; ++p) tokens[p] = 3 + p, pos[p] = p % 2;
    std::vector<float> resid(n_pos * 4), mlp(3);  // [1, n_pos, 4], [1, 3]
    for (size_t i = 0; i < resid.size(); ++i) resid[i] = 0.25f * static_cast<float>(r + i);
    for (size_t i = 0; i < mlp.size(); ++i) mlp[i] = -1.5f * static_cast<float>(r) + static_cast<float>(i);
    w->append(1, tokens.data(), &length, {{0.5 * static_cast<double>(r)}, {}}, {{}, pos},
              {resid.data(), mlp.data()});
    w->commit(l.labels);
  }
  if (committed == l.rows) w->finish(l.labels);
}

std::string npy(const std::string& shape, const std::string& data, const std::string& descr) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + data;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_seeds OUT_DIR\n";
    return 2;
  }
  g_out = argv[1];
  const fs::path scratch = fs::path(fuzz::scratch_dir()) / "seeds";
  fs::create_directories(scratch);
  const auto tok = fuzz::make_tokenizer();
  const Config c = tiny_config(tok->vocab_size());
  const TransformerWeights w = random_weights(c, 7);

  // Models in every format resid writes.
  for (const auto& [name, dtype] :
       {std::pair{"f32", DType::F32}, {"f16", DType::F16}, {"q8_0", DType::Q8_0}}) {
    write_gguf((scratch / "m.gguf").string(), c, w, tok.get(), dtype);
    copy_in("gguf", std::string("tiny-") + name + ".gguf", scratch / "m.gguf");
  }
  write_gguf((scratch / "m.gguf").string(), c, w, nullptr, DType::F32);
  copy_in("gguf", "tiny-no-vocab.gguf", scratch / "m.gguf");
  write_llama2c((scratch / "m.bin").string(), c, w, Llama2cVersion::Legacy);
  copy_in("llama2c", "tiny-legacy.bin", scratch / "m.bin");
  write_llama2c((scratch / "m.bin").string(), c, w, Llama2cVersion::V2, 8);
  copy_in("llama2c", "tiny-v2.bin", scratch / "m.bin");
  Config half = c;
  half.rotary_style = RotaryStyle::Half;
  save_hf_checkpoint((scratch / "hf").string(), half, random_weights(half, 3));
  copy_in("hf_config", "config.json", scratch / "hf" / "config.json");
  copy_in("safetensors", "tiny-model.safetensors", scratch / "hf" / "model.safetensors");
  const Tensor a = Tensor::owned({2, 3}, {1, 2, 3, 4, 5, 6}), b = Tensor::owned({3}, {0.5f, -1, 2});
  for (const auto& [name, dtype] :
       {std::pair{"f32", DType::F32}, {"f16", DType::F16}, {"bf16", DType::BF16}}) {
    write_safetensors((scratch / "t.safetensors").string(), {{"fc1.weight", &a}, {"fc1.bias", &b}},
                      {{"k", "v"}}, dtype);
    copy_in("safetensors", std::string("mlp-") + name + ".safetensors", scratch / "t.safetensors");
  }

  put("tokenizer_bin", "fuzz-vocab.bin", tokenizer_bin(*tok));

  const float f[4] = {1, -2, 0.5f, 3};
  const double d[2] = {0.25, -4};
  put("npy", "f4.npy", npy("(4,)", std::string(reinterpret_cast<const char*>(f), 16), "<f4"));
  put("npy", "f8.npy", npy("(2,)", std::string(reinterpret_cast<const char*>(d), 16), "<f8"));
  put("npy", "matrix.npy", npy("(2, 2)", std::string(reinterpret_cast<const char*>(f), 16), "<f4"));
  put("npy", "vector.txt", "1 -2.5\n+3e2\t4\n");

  put("jsonl", "labels.jsonl",
      "{\"text\": \"the cat said \\\"Hi.\\\"\", \"y\": 1, \"label\": \"pos\"}\n"
      "{\"text\": \"The 12 cats.\", \"y\": true, \"label\": \"neg\"}\n\n"
      "{\"text\": \"\\u00fc\\n\", \"y\": -0.5e3, \"label\": \"pos\"}\n");
  put("tagged", "words.tags", "The/DT cat/NN said/VBD \"Hi\"/UH ./.\n\nA/DT 12/CD\r\n");
  put("tokens", "ids.tokens", "1 300 301,302\t5\n\n1, 2, 3\n270\n");
  put("text", "lines.txt", "the cat said \"Hi.\"\n\nThe 12 cats.\r\nA cat\n");
  put("text", "labels.txt", "0.5\n1e3\n-2\n");
  put("text", "classes.txt", "pos\nneg\npos\n");

  // Capture files as a killed run leaves them (some rows committed), and a finished one.
  for (const int64_t committed : {int64_t{0}, int64_t{3}, fuzz::capture_layout().rows}) {
    write_capture(scratch / "c.h5", committed);
    copy_in("capture_resume", "committed-" + std::to_string(committed) + ".h5", scratch / "c.h5");
  }
  std::cout << "seeds written to " << g_out.string() << "\n";
  fs::remove_all(scratch);
  return 0;
}
