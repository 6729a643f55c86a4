// What every harness shares: the input written to a per-process scratch file (resid's loaders read paths, so
// the fuzzed bytes go through the same mmap/stream code a user's file does), a small in-memory tokenizer, and
// the contract under test: a bad input may throw resid::Error (exit 2), anything else is a bug (exit 3) and
// aborts.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include "core/error.h"
#include "core/tokenizer/spm_tokenizer.h"

namespace resid::fuzz {

// A scratch directory of this process under /dev/shm (or $TMPDIR), created once and removed at exit.
const std::string& scratch_dir();

// Writes `data` to scratch_dir()/name and returns the path.
std::string write_input(const uint8_t* data, size_t size, const std::string& name);

// <unk> <s> </s>, the 256 byte pieces and a few words with their prefixes (as tests/datasets builds it).
std::unique_ptr<SpmTokenizer> make_tokenizer();
const SpmTokenizer& tokenizer();

// Runs f(); a resid::Error is the expected outcome for bad bytes; any other exception is reported and aborts
// so libFuzzer records the input.
template <typename F>
void expect_resid_errors_only(F&& f) {
  try {
    f();
  } catch (const resid::Error&) {
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "fuzz: std::bad_alloc: an allocation sized by the input was not bounded first\n");
    std::abort();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: internal error (would exit 3): %s\n", e.what());
    std::abort();
  }
}

}  // namespace resid::fuzz
