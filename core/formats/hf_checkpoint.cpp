#include "core/formats/hf_checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cfloat>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/formats/mlp_safetensors.h"
#include "core/formats/safetensors.h"
#include "core/mapped_file.h"
#include "core/rotary.h"
#include "core/weight_schema.h"

#ifndef RESID_VERSION
#define RESID_VERSION "unknown"
#endif

namespace resid {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kConfigName[] = "config.json";
constexpr char kWeightsName[] = "model.safetensors";
constexpr char kIndexName[] = "model.safetensors.index.json";
constexpr char kTokenizerName[] = "tokenizer.model";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  return s;
}

// Re-throws a path-less ConfigError (Config::validate, act_fn_from_name) with the file it came from.
template <typename F>
auto with_path(const std::string& path, F&& f) {
  try {
    return f();
  } catch (const ConfigError& e) {
    throw ConfigError(path + ": " + e.what());
  }
}

json read_json_file(const std::string& path) {
  auto file = MappedFile::open(path);
  const std::string text(reinterpret_cast<const char*>(file->data()), file->size());
  try {
    return json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
    throw FormatError(path, "invalid JSON: " + one_line(e.what()));
  }
}

// Written through a temporary file renamed into place, like the weights, so a reader never sees half a file.
void write_text_atomically(const std::string& path, const std::string& text) {
  static std::atomic<int> counter{0};
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw FormatError(path, std::string("cannot write: ") + std::strerror(errno));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw FormatError(path, std::string("cannot rename into place: ") + std::strerror(err));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Finding the files of a checkpoint.

struct CheckpointFiles {
  fs::path dir;
  std::string config;   // config.json
  std::string weights;  // a single safetensors file, or "" when sharded
  std::string index;    // model.safetensors.index.json, or "" when not sharded
};

// Shard names must be plain file names inside the checkpoint directory: an index must not point us at
// arbitrary files elsewhere on disk.
bool is_plain_file_name(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('\\') == std::string::npos && s.find('\0') == std::string::npos;
}

const json& weight_map_of(const json& index, const std::string& index_path) {
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    throw FormatError(index_path, "no \"weight_map\" object (not a safetensors index?)");
  return index["weight_map"];
}

// True when the directory's index lists `file_name` as one of its shards.
bool index_names_shard(const fs::path& index_path, const std::string& file_name) {
  const json index = read_json_file(index_path.string());
  for (const auto& [name, shard] : weight_map_of(index, index_path.string()).items())
    if (shard.is_string() && shard.get<std::string>() == file_name) return true;
  return false;
}

CheckpointFiles locate(const std::string& path) {
  std::error_code ec;
  const fs::path p(path);
  CheckpointFiles f;
  if (fs::is_directory(p, ec)) {
    f.dir = p;
  } else {
    if (!fs::exists(p, ec)) throw FormatError(path, "no such file or directory");
    f.dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    const std::string base = p.filename().string();
    if (ends_with(base, ".index.json")) {
      f.index = path;
    } else if (ends_with(base, ".safetensors")) {
      // One shard of a sharded checkpoint stands for the whole checkpoint.
      const fs::path index = f.dir / kIndexName;
      if (base != kWeightsName && fs::is_regular_file(index, ec) && index_names_shard(index, base))
        f.index = index.string();
      else
        f.weights = path;
    } else if (base != kConfigName) {
      throw FormatError(
          path,
          "not a Hugging Face checkpoint (expected its directory, config.json, a .safetensors file "
          "or model.safetensors.index.json)");
    }
  }
  f.config = (f.dir / kConfigName).string();
  if (!fs::is_regular_file(f.config, ec))
    throw FormatError(f.dir.string(), "no config.json: not a Hugging Face checkpoint directory");
  if (f.weights.empty() && f.index.empty()) {
    // transformers prefers the single file too when both are present.
    if (fs::is_regular_file(f.dir / kWeightsName, ec))
      f.weights = (f.dir / kWeightsName).string();
    else if (fs::is_regular_file(f.dir / kIndexName, ec))
      f.index = (f.dir / kIndexName).string();
    else
      throw FormatError(f.dir.string(),
                        "has config.json but neither model.safetensors nor " + std::string(kIndexName));
  }
  return f;
}

// ---------------------------------------------------------------------------------------------------------------
// config.json

// Typed access to config.json values: a missing required key or a wrong type is a FormatError naming the key.
// JSON null counts as absent (transformers writes "head_dim": null, "rope_scaling": null).
class JsonConfig {
 public:
  JsonConfig(const json& j, const std::string& path) : j_(j), path_(path) {
    if (!j.is_object()) throw FormatError(path, "must be a JSON object");
  }
  bool has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }
  const json& raw(const char* key) const { return j_[key]; }

  int integer(const char* key) const {
    if (!has(key)) throw FormatError(path_, std::string("missing key '") + key + "'");
    const json& v = j_[key];
    if (!v.is_number_integer()) throw type_error(key, "an integer");
    const bool fits = v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(INT_MAX)
                                             : v.get<int64_t>() >= INT_MIN && v.get<int64_t>() <= INT_MAX;
    if (!fits) throw FormatError(path_, std::string(key) + " = " + v.dump() + " is out of range");
    return static_cast<int>(v.get<int64_t>());
  }
  int integer(const char* key, int fallback) const { return has(key) ? integer(key) : fallback; }

  float number(const char* key, float fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_[key];
    if (!v.is_number()) throw type_error(key, "a number");
    const double d = v.get<double>();
    // Converting an out-of-range double to float is undefined behaviour.
    if (!(std::abs(d) <= FLT_MAX))
      throw FormatError(path_, std::string(key) + " = " + v.dump() + " is out of range");
    return static_cast<float>(d);
  }

  bool boolean(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_boolean()) throw type_error(key, "true or false");
    return j_[key].get<bool>();
  }

  std::string string(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_string()) throw type_error(key, "a string");
    return j_[key].get<std::string>();
  }

 private:
  FormatError type_error(const char* key, const char* expected) const {
    return FormatError(path_,
                       std::string(key) + " must be " + expected + ", got " + one_line(j_[key].dump()));
  }
  const json& j_;
  std::string path_;
};

// Features of LlamaConfig that change the computation in ways resid does not implement: refuse rather than
// silently compute something else.
void reject_unsupported(const JsonConfig& j, const std::string& path) {
  const std::string model_type = j.string("model_type", "llama");
  if (model_type != "llama")
    throw ConfigError(path + ": model_type '" + one_line(model_type) + "' is not supported (expected llama)");
  if (j.has("rope_scaling"))
    throw ConfigError(path + ": rope_scaling " + one_line(j.raw("rope_scaling").dump()) +
                      " is not supported (only plain RoPE)");
  for (const char* key : {"attention_bias", "mlp_bias"})
    if (j.boolean(key, false)) throw ConfigError(path + ": " + key + " = true is not supported (no biases)");
}

Config config_from_hf(const json& doc, const std::string& path, std::vector<std::string>* notes) {
  const JsonConfig j(doc, path);
  reject_unsupported(j, path);
  Config c;
  c.d_model = j.integer("hidden_size");
  c.d_mlp = j.integer("intermediate_size");
  c.n_layers = j.integer("num_hidden_layers");
  c.n_heads = j.integer("num_attention_heads");
  c.n_kv_heads = j.integer("num_key_value_heads", c.n_heads);
  c.d_head = j.integer("head_dim", c.n_heads > 0 ? c.d_model / c.n_heads : 0);
  c.d_vocab = j.integer("vocab_size");
  if (!j.has("max_position_embeddings"))
    notes->push_back("config.json has no max_position_embeddings: n_ctx = 2048");
  c.n_ctx = j.integer("max_position_embeddings", 2048);  // LlamaConfig's default
  c.eps = j.number("rms_norm_eps", 1e-6f);               // LlamaConfig's default
  c.rotary_base = j.number("rope_theta", 10000.0f);
  c.act_fn = with_path(path, [&] { return act_fn_from_name(j.string("hidden_act", "silu")); });
  c.tied_embeddings = j.boolean("tie_word_embeddings", false);  // LlamaConfig's default
  // resid's own keys, for what LlamaConfig cannot express.
  c.gated_mlp = j.boolean("resid_gated_mlp", true);
  const std::string style = j.string("resid_rotary_style", "half");
  if (style != "half" && style != "interleaved")
    throw ConfigError(path + ": resid_rotary_style = '" + one_line(style) +
                      "' (expected half or interleaved)");
  c.rotary_style = style == "half" ? RotaryStyle::Half : RotaryStyle::Interleaved;
  with_path(path, [&] { c.validate(); });
  return c;
}

const char* hf_act_name(ActFn a) {
  switch (a) {
    case ActFn::ReLU: return "relu";
    case ActFn::GeLU: return "gelu";
    case ActFn::GeLUTanh: return "gelu_pytorch_tanh";
    case ActFn::SiLU: return "silu";
  }
  return "silu";
}

const char* torch_dtype_name(DType t) {
  switch (t) {
    case DType::F16: return "float16";
    case DType::BF16: return "bfloat16";
    default: return "float32";
  }
}

// The shortest decimal that reads back as the same float, so config.json says 1e-05 rather than
// 9.99999974737875e-06 and still round-trips exactly.
double shortest(float f) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof(buf) - 1, f);
  *r.ptr = '\0';
  return std::strtod(buf, nullptr);
}

json config_to_hf(const Config& c, DType dtype) {
  json j;
  j["architectures"] = json::array({"LlamaForCausalLM"});
  j["model_type"] = "llama";
  j["hidden_size"] = c.d_model;
  j["intermediate_size"] = c.d_mlp;
  j["num_hidden_layers"] = c.n_layers;
  j["num_attention_heads"] = c.n_heads;
  j["num_key_value_heads"] = c.n_kv_heads;
  j["head_dim"] = c.d_head;
  j["vocab_size"] = c.d_vocab;
  j["max_position_embeddings"] = c.n_ctx;
  j["rms_norm_eps"] = shortest(c.eps);
  j["rope_theta"] = shortest(c.rotary_base);
  j["rope_scaling"] = nullptr;
  j["hidden_act"] = hf_act_name(c.act_fn);
  j["tie_word_embeddings"] = c.tied_embeddings;
  j["attention_bias"] = false;
  j["mlp_bias"] = false;
  j["torch_dtype"] = torch_dtype_name(dtype);
  j["resid_gated_mlp"] = c.gated_mlp;
  j["resid_rotary_style"] = "half";  // the writer always stores q/k in Hugging Face's layout
  j["resid_version"] = RESID_VERSION;
  return j;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading tensors by Hugging Face name from one file or a set of shards.

class TensorSource {
 public:
  explicit TensorSource(const CheckpointFiles& files) {
    if (files.index.empty()) {
      where_ = files.weights;
      auto file = std::make_shared<const SafetensorsFile>(files.weights);
      for (const auto& [name, entry] : file->entries()) by_name_[name] = file;
      n_files_ = 1;
    } else {
      where_ = files.index;
      open_shards(files.dir, files.index);
    }
  }

  int n_files() const { return n_files_; }
  bool has(const std::string& name) const { return by_name_.count(name) > 0; }

  // The tensor, which must have the shape the config implies.
  Tensor take(const std::string& name, const std::vector<int64_t>& expected) {
    auto it = by_name_.find(name);
    if (it == by_name_.end()) throw FormatError(where_, "missing tensor '" + name + "'");
    const SafetensorsFile& file = *it->second;
    const SafetensorsEntry& e = file.entries().at(name);
    if (e.shape != expected)
      throw FormatError(file.path(), "tensor '" + name + "' has shape " + shape_string(e.shape) +
                                         ", expected " + shape_string(expected) + " from config.json");
    bool mapped = false;
    Tensor t = file.tensor(name, &mapped);
    records_.push_back({name, e.dtype, e.shape, mapped});
    used_.insert(name);
    return t;
  }
  void skip(const std::string& name) { used_.insert(name); }

  const std::vector<TensorRecord>& records() const { return records_; }
  std::vector<std::string> unused() const {
    std::vector<std::string> out;
    for (const auto& [name, file] : by_name_)
      if (!used_.count(name)) out.push_back(name);
    return out;
  }

 private:
  void open_shards(const fs::path& dir, const std::string& index_path) {
    const json index = read_json_file(index_path);
    std::map<std::string, std::shared_ptr<const SafetensorsFile>> shards;
    for (const auto& [name, value] : weight_map_of(index, index_path).items()) {
      if (!value.is_string() || !is_plain_file_name(value.get<std::string>()))
        throw FormatError(index_path, "weight_map['" + one_line(name) + "'] = " + one_line(value.dump()) +
                                          " is not a file name in the checkpoint directory");
      const std::string shard = value.get<std::string>();
      auto& file = shards[shard];
      if (!file) {
        const fs::path shard_path = dir / shard;
        std::error_code ec;
        if (!fs::is_regular_file(shard_path, ec))
          throw FormatError(index_path, "weight_map names shard '" + shard + "' (for tensor '" +
                                            one_line(name) + "') which does not exist in " + dir.string());
        file = std::make_shared<const SafetensorsFile>(shard_path.string());
      }
      if (!file->has(name))
        throw FormatError(file->path(), "has no tensor '" + one_line(name) + "' although " + index_path +
                                            " places it there");
      by_name_[name] = file;
    }
    n_files_ = static_cast<int>(shards.size());
  }

  std::string where_;  // the file named in "missing tensor" messages
  std::map<std::string, std::shared_ptr<const SafetensorsFile>> by_name_;
  std::set<std::string> used_;
  std::vector<TensorRecord> records_;
  int n_files_ = 0;
};

TransformerWeights take_weights(Config& c, TensorSource& src, std::vector<std::string>* notes) {
  TransformerWeights w;
  w.layers.resize(c.n_layers);
  for (const WeightSlot& s : weight_slots(c)) {
    if (s.row->role == WeightRole::Unembed) continue;  // lm_head is optional: below
    weight_tensor(w, s) = src.take(weight_name(s), s.row->shape(c));
  }
  const std::string lm_head = weight_row(WeightRole::Unembed).hf_name;
  if (c.tied_embeddings) {
    // transformers overwrites lm_head with the embedding when tied, whatever the file holds.
    if (src.has(lm_head)) {
      src.skip(lm_head);
      notes->push_back("lm_head.weight ignored: tie_word_embeddings is true");
    }
    w.unembed = w.embed;
  } else if (src.has(lm_head)) {
    w.unembed = src.take(lm_head, weight_row(WeightRole::Unembed).shape(c));
  } else {
    c.tied_embeddings = true;
    w.unembed = w.embed;
    notes->push_back("no lm_head.weight: the unembedding shares model.embed_tokens.weight");
  }
  return w;
}

void add_load_notes(const Config& c, const TensorSource& src, std::vector<std::string>* notes) {
  notes->push_back(c.rotary_style == RotaryStyle::Half
                       ? "q/k rows in Hugging Face's rotate-half layout (rotary_style = half)"
                       : "q/k rows interleaved (resid_rotary_style = interleaved)");
  std::map<std::string, int> converted;
  for (const TensorRecord& r : src.records())
    if (!r.mapped) ++converted[dtype_name(r.dtype)];
  for (const auto& [dtype, n] : converted)
    notes->push_back("converted " + std::to_string(n) + " " + dtype + " tensors to float32");
  const std::vector<std::string> unused = src.unused();
  if (!unused.empty()) {
    std::string list;
    for (size_t i = 0; i < unused.size() && i < 3; ++i) list += (i ? ", " : "") + unused[i];
    if (unused.size() > 3) list += ", ...";
    notes->push_back("ignored " + std::to_string(unused.size()) + " tensors the model does not use: " + list);
  }
}

void load_tokenizer_beside(const fs::path& dir, LoadedModel* model) {
  std::error_code ec;
  const fs::path path = dir / kTokenizerName;
  if (!fs::is_regular_file(path, ec)) return;
  // A broken tokenizer should not make the weights unusable; the note says why there is none.
  try {
    model->tokenizer = load_tokenizer(path.string());
    model->tokenizer_path = path.string();
    model->notes.push_back("tokenizer: " + model->tokenizer->describe());
  } catch (const Error& e) {
    model->notes.push_back(std::string("tokenizer.model not loaded: ") + e.what());
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Writing.

// The checkpoint's tensors under their Hugging Face names, q/k in the rotate-half layout.
std::vector<std::pair<std::string, Tensor>> hf_tensors(const Config& c, const TransformerWeights& w) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const WeightSlot& s : weight_slots(c)) {
    const Tensor& t = weight_tensor(w, s);
    const int heads = rotary_heads(s, c);
    const bool permute = heads > 0 && c.rotary_style == RotaryStyle::Interleaved;
    out.emplace_back(weight_name(s), permute ? permute_qk_rows(t, heads, RotaryStyle::Half) : t);
  }
  return out;
}

// Validates, creates `dir` and returns the tensors to write.
std::vector<std::pair<std::string, Tensor>> prepare_save(const std::string& dir, const Config& c,
                                                         const TransformerWeights& w) {
  with_path(dir, [&] { c.validate(); });
  check_weight_shapes(c, w, dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw FormatError(dir, "cannot create directory: " + ec.message());
  return hf_tensors(c, w);
}

const std::map<std::string, std::string> kPtMetadata = {{"format", "pt"}};  // transformers checks this key

// LlamaForCausalLM names; checked over all tensors because one shard of a sharded checkpoint may lack the
// embedding. Specific enough that an nn.Sequential saved as "model.0.weight" stays an MLP.
bool has_llama_names(const SafetensorsFile& file) {
  for (const auto& [name, entry] : file.entries()) {
    for (const WeightRow& row : weight_schema())
      if (!row.per_layer && name == row.hf_name) return true;
    if (name.rfind("model.layers.", 0) == 0 &&
        (name.find(".self_attn.") != std::string::npos || name.find(".mlp.") != std::string::npos ||
         name.find("layernorm.") != std::string::npos))
      return true;
  }
  return false;
}

}  // namespace

Tensor qk_rows_interleaved_to_half(const Tensor& w, int n_heads) {
  return permute_qk_rows(w, n_heads, RotaryStyle::Half);
}
Tensor qk_rows_half_to_interleaved(const Tensor& w, int n_heads) {
  return permute_qk_rows(w, n_heads, RotaryStyle::Interleaved);
}

LoadedModel load_hf_checkpoint(const std::string& path) {
  const CheckpointFiles files = locate(path);
  LoadedModel model;
  model.path = path;
  model.format = ModelFormat::Safetensors;
  Config config = config_from_hf(read_json_file(files.config), files.config, &model.notes);
  TensorSource src(files);
  TransformerWeights weights = take_weights(config, src, &model.notes);
  add_load_notes(config, src, &model.notes);
  model.tensors = src.records();
  model.format_detail = "Hugging Face safetensors (" +
                        (src.n_files() > 1 ? std::to_string(src.n_files()) + " shards, " : std::string()) +
                        dtypes_of(model.tensors) + ")";
  model.transformer = std::make_shared<const Transformer>(config, std::move(weights), path);
  load_tokenizer_beside(files.dir, &model);
  return model;
}

LoadedModel load_safetensors_file(const std::string& path) {
  const SafetensorsFile file(path);
  if (has_llama_names(file)) {
    std::error_code ec;
    const fs::path p(path);
    const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    if (!fs::is_regular_file(dir / kConfigName, ec))
      throw FormatError(path, "has Hugging Face Llama tensors but no config.json beside it");
    return load_hf_checkpoint(path);
  }
  return load_mlp_safetensors(file);
}

void save_hf_checkpoint(const std::string& dir, const Config& config, const TransformerWeights& weights,
                        DType dtype) {
  const auto tensors = prepare_save(dir, config, weights);
  std::vector<NamedTensor> named;
  for (const auto& [name, t] : tensors) named.push_back({name, &t});
  write_safetensors((fs::path(dir) / kWeightsName).string(), named, kPtMetadata, dtype);
  write_text_atomically((fs::path(dir) / kConfigName).string(), config_to_hf(config, dtype).dump(2) + "\n");
}

void save_hf_checkpoint_sharded(const std::string& dir, const Config& config,
                                const TransformerWeights& weights, int n_shards, DType dtype) {
  const auto tensors = prepare_save(dir, config, weights);
  const int64_t count = static_cast<int64_t>(tensors.size());
  if (n_shards < 1 || n_shards > count)
    throw InputError(dir + ": cannot split " + std::to_string(count) + " tensors into " +
                     std::to_string(n_shards) + " shards");
  // Split by tensor count, in file order: every shard gets at least one tensor.
  std::vector<std::vector<NamedTensor>> shards(n_shards);
  for (int64_t i = 0; i < count; ++i)
    shards[i * n_shards / count].push_back({tensors[i].first, &tensors[i].second});

  json weight_map = json::object();
  int64_t total = 0;
  for (int s = 0; s < n_shards; ++s) {
    char file_name[64];
    std::snprintf(file_name, sizeof(file_name), "model-%05d-of-%05d.safetensors", s + 1, n_shards);
    write_safetensors((fs::path(dir) / file_name).string(), shards[s], kPtMetadata, dtype);
    for (const NamedTensor& t : shards[s]) {
      weight_map[t.name] = file_name;
      total += dtype_bytes(dtype, t.tensor->numel());
    }
  }
  const json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  write_text_atomically((fs::path(dir) / kIndexName).string(), index.dump(2) + "\n");
  // A single file left by an earlier save would shadow the index (loaders prefer it).
  std::error_code ec;
  fs::remove(fs::path(dir) / kWeightsName, ec);
  write_text_atomically((fs::path(dir) / kConfigName).string(), config_to_hf(config, dtype).dump(2) + "\n");
}

}  // namespace resid
