// Option groups and helpers shared by several subcommands.
#pragma once
#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "capture/activation_file.h"
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

// The whole text as one number, NaN and inf included (the caller or the library says what is wrong with
// them); InputError "FLAG 'TEXT' is not a number" for anything else.
double parse_double(const std::string& flag, const std::string& text);

// "1,403,407" -> ids; throws InputError on anything else.
std::vector<int32_t> parse_token_list(const std::string& text);

// The model as a Transformer, or an InputError naming the path when it is a plain MLP.
const Transformer& require_transformer(const LoadedModel& model);
const Tokenizer& require_tokenizer(const LoadedModel& model);

// A word as a POSIX shell reads it back: unchanged when it holds only safe characters, else single-quoted.
std::string shell_quote(const std::string& word);
// "resid COMMAND ARG..." with each argument shell-quoted, as files record the command that wrote them.
std::string command_line(const std::string& command, const std::vector<std::string>& args);
// The attributes every capture fills the same way (resid version, absolute model and dataset paths, command
// line, time); the caller adds the tokenizer, the dataset's description and the fingerprints.
ActivationFileInfo capture_file_info(const LoadedModel& model, const std::string& dataset_path,
                                     const std::string& command_line);

}  // namespace resid::cli
