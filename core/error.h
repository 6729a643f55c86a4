// Exceptions thrown by library code. Only the CLI turns them into exit codes.
// Every message is one line and names the file (or input) and the problem.
#pragma once
#include <stdexcept>
#include <string>

namespace resid {

// Anything that went wrong because of what the user gave us.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A model/tokenizer/data file whose bytes do not make sense (truncated, bad magic, offsets past the end...).
class FormatError : public Error {
 public:
  FormatError(const std::string& path, const std::string& problem) : Error(path + ": " + problem) {}
};

// Hyper-parameters that do not fit together (n_heads does not divide d_model, ...).
class ConfigError : public Error {
 public:
  using Error::Error;
};

// Bad runtime input: token ids out of range, wrong shapes, NaNs, unknown hook names...
class InputError : public Error {
 public:
  using Error::Error;
};

}  // namespace resid
