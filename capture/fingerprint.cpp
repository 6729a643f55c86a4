#include "capture/fingerprint.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "datasets/label_file_dataset.h"

namespace resid {

namespace fs = std::filesystem;

std::vector<std::string> model_weight_files(const LoadedModel& model) {
  std::error_code ec;
  const fs::path p(model.path);
  const bool hf = model.format == ModelFormat::Safetensors &&
                  (fs::is_directory(p, ec) || fs::is_regular_file(p.parent_path() / "config.json", ec));
  if (!hf) return {model.path};
  const fs::path dir = fs::is_directory(p, ec) ? p : (p.has_parent_path() ? p.parent_path() : fs::path("."));
  std::vector<std::string> files;
  auto add = [&](const fs::path& f) {
    if (fs::is_regular_file(f, ec) && std::find(files.begin(), files.end(), f.string()) == files.end())
      files.push_back(f.string());
  };
  add(dir / "config.json");
  add(dir / "model.safetensors");
  if (!fs::is_directory(p, ec)) add(p);  // a shard or a differently named .safetensors given directly
  const fs::path index = dir / "model.safetensors.index.json";
  if (fs::is_regular_file(index, ec)) {
    add(index);
    nlohmann::json j;
    try {
      std::ifstream in(index);
      j = nlohmann::json::parse(in);
    } catch (const std::exception&) {
      throw FormatError(index.string(), "is not valid JSON");
    }
    if (j.is_object() && j.contains("weight_map") && j["weight_map"].is_object())
      for (const auto& [name, shard] : j["weight_map"].items())
        if (shard.is_string() && shard.get<std::string>().find('/') == std::string::npos)
          add(dir / shard.get<std::string>());
  }
  return files;
}

namespace {

// The canonical JSON of the options that shape the examples; options a kind ignores are left out, so
// spelling them differently on resume is not a difference.
std::string dataset_options_json(const DatasetOptions& data, const Dataset& dataset) {
  const std::string described = dataset.describe();
  const std::string kind = described.substr(0, described.find(' '));  // "auto" resolved by open_dataset
  nlohmann::json j;
  j["kind"] = kind;
  j["max_tokens"] = data.max_tokens;
  j["rules"] = data.rules;
  if (kind != "tokens") j["bos"] = data.add_bos;
  if (kind != "windows") j["truncate"] = data.truncate;
  if (kind == "windows") j["window"] = data.window;
  if (kind == "jsonl") {
    j["text_field"] = data.text_field;
    j["label_fields"] = data.label_fields;
  }
  std::vector<std::string> names;
  for (const std::string& spec : data.label_files) names.push_back(parse_label_file_spec(spec).name);
  j["label_files"] = names;
  return j.dump();  // nlohmann orders object keys, so equal options give equal strings
}

}  // namespace

namespace {

// model_sha256 and model_files: the single file's sha256, or for a directory the sha256 of its weight files'
// sha256sum lines.
void fingerprint_model(const LoadedModel& model, ActivationFileInfo* info, std::vector<std::string>* inputs) {
  const std::vector<std::string> weights = model_weight_files(model);
  std::error_code ec;
  if (weights.size() == 1 && !fs::is_directory(model.path, ec) && weights[0] == model.path) {
    info->model_sha256 = sha256_file(model.path);
    info->model_files = info->model_sha256 + "  " + fs::path(model.path).filename().string() + "\n";
  } else {
    // sha256sum's output format, sorted by name: `sha256sum config.json model*.safetensors* | sha256sum`
    // in the checkpoint directory gives the same hash.
    std::vector<std::pair<std::string, std::string>> lines;
    for (const std::string& f : weights) lines.emplace_back(fs::path(f).filename().string(), sha256_file(f));
    std::sort(lines.begin(), lines.end());
    info->model_files.clear();
    for (const auto& [name, sha] : lines) info->model_files += sha + "  " + name + "\n";
    info->model_sha256 = sha256_bytes(info->model_files);
  }
  inputs->insert(inputs->end(), weights.begin(), weights.end());
}

}  // namespace

void fingerprint_inputs(const LoadedModel& model, const DatasetOptions& data, const Dataset& dataset,
                        ActivationFileInfo* info, std::vector<std::string>* inputs) {
  fingerprint_model(model, info, inputs);

  if (!model.tokenizer) {
    info->tokenizer_sha256 = "none";
  } else if (model.tokenizer_path.empty()) {
    info->tokenizer_sha256 = "embedded";  // part of the model file, covered by model_sha256
  } else {
    info->tokenizer_sha256 = sha256_file(model.tokenizer_path);
    inputs->push_back(model.tokenizer_path);
  }

  info->dataset_sha256 = sha256_file(data.path);
  inputs->push_back(data.path);
  info->dataset_options = dataset_options_json(data, dataset);

  nlohmann::json labels = nlohmann::json::object();
  for (const std::string& spec : data.label_files) {
    const LabelFileSpec s = parse_label_file_spec(spec);
    labels[s.name] = sha256_file(s.path);
    inputs->push_back(s.path);
  }
  info->label_files_sha256 = labels.dump();
}

void fingerprint_vector_inputs(const LoadedModel& model, const std::string& examples_path,
                               const std::string& labels_path, ActivationFileInfo* info,
                               std::vector<std::string>* inputs) {
  fingerprint_model(model, info, inputs);
  info->tokenizer_sha256 = "none";
  info->dataset_sha256 = sha256_file(examples_path);
  inputs->push_back(examples_path);
  info->dataset_options = nlohmann::json{{"kind", "idx"}}.dump();
  nlohmann::json labels = nlohmann::json::object();
  if (!labels_path.empty()) {
    labels["class"] = sha256_file(labels_path);
    inputs->push_back(labels_path);
  }
  info->label_files_sha256 = labels.dump();
}

}  // namespace resid
