// Option groups and helpers shared by several subcommands.
#pragma once
#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "core/formats/model_file.h"

namespace resid::cli {

namespace po = boost::program_options;

// --tokenizer, --threads
struct ModelOptions {
  std::string model;
  std::string tokenizer;
  int threads = 0;
  void add_to(po::options_description& desc);
  LoadedModel load() const;  // also applies --threads
};

// Parses args against desc (+ positional), printing usage on --help. Returns false when help was printed.
// Unknown options and missing values throw resid::InputError with boost's message.
bool parse(const std::vector<std::string>& args, const po::options_description& desc,
           const po::positional_options_description& positional, po::variables_map& vm,
           const std::string& usage);

// "1,403,407" -> ids; throws InputError on anything else.
std::vector<int32_t> parse_token_list(const std::string& text);

// The model as a Transformer, or an InputError naming the path when it is a plain MLP.
const Transformer& require_transformer(const LoadedModel& model);
const Tokenizer& require_tokenizer(const LoadedModel& model);

}  // namespace resid::cli
