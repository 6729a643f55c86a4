// llama2.c tokenizer.bin: records, lengths, scores; then the vocabulary encodes and decodes a sample.
#include "core/tokenizer/spm_tokenizer.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = resid::fuzz::write_input(data, size, "tokenizer.bin");
  resid::fuzz::expect_resid_errors_only([&] {
    const auto tok = resid::load_llama2c_tokenizer(path);
    const std::string sample = "Once upon a time, \"Hi!\" said 12 cats.\n\xC3\xBC\xE2\x96\x81 <s>";
    const auto spans = tok->encode_with_offsets(sample, true);
    std::vector<int> ids;
    for (const auto& s : spans) {
      if (s.begin > s.end || s.end > sample.size()) std::abort();  // spans must lie inside the text
      ids.push_back(s.id);
    }
    tok->decode(ids);
    for (int id = 0; id < std::min(tok->vocab_size(), 64); ++id) tok->decode_token(tok->bos_id(), id);
  });
  return 0;
}
