#include "core/formats/gguf.h"

#include <filesystem>
#include <limits>
#include <set>

#include "core/error.h"
#include "core/formats/gguf_keys.h"
#include "core/rotary.h"
#include "core/tokenizer/spm_tokenizer.h"
#include "core/weight_schema.h"

namespace resid {

namespace {

// The rotary tables are precomputed per position, so an absurd context_length would allocate absurdly.
constexpr uint64_t kMaxContext = 1u << 20;

// llama.cpp's general.file_type values (LLAMA_FTYPE_*).
constexpr uint32_t kFileTypeF32 = 0, kFileTypeF16 = 1, kFileTypeQ8_0 = 7, kFileTypeBF16 = 32;

std::string printable(const std::string& s) {
  return gguf_printable(s);
}

std::string in_quotes(const std::string& s) {
  return "'" + printable(s) + "'";
}

// llama.cpp's name for a weight role (per-layer ones follow "blk.<l>.").
const char* gguf_role_name(WeightRole role) {
  switch (role) {
    case WeightRole::Embed: return "token_embd.weight";
    case WeightRole::AttnNorm: return "attn_norm.weight";
    case WeightRole::Wq: return "attn_q.weight";
    case WeightRole::Wk: return "attn_k.weight";
    case WeightRole::Wv: return "attn_v.weight";
    case WeightRole::Wo: return "attn_output.weight";
    case WeightRole::FfnNorm: return "ffn_norm.weight";
    case WeightRole::Gate: return "ffn_gate.weight";
    case WeightRole::Up: return "ffn_up.weight";
    case WeightRole::Down: return "ffn_down.weight";
    case WeightRole::FinalNorm: return "output_norm.weight";
    case WeightRole::Unembed: return "output.weight";
  }
  return "?";
}

std::string gguf_tensor_name(const WeightSlot& s) {
  const char* name = gguf_role_name(s.row->role);
  return s.row->per_layer ? "blk." + std::to_string(s.layer) + "." + name : std::string(name);
}

// The tensors of a llama model in the order llama.cpp's converters write them (globals, then the blocks).
// output.weight is absent when embeddings are tied.
std::vector<WeightSlot> llama_slots(const Config& c) {
  return weight_slots(c, WeightOrder::GlobalsFirst);
}

// A required positive integer hyper-parameter, range-checked before it becomes an int.
int int_key(const GgufFile& g, const std::string& key, uint64_t max) {
  const uint64_t v = g.get_uint(key);
  if (v < 1 || v > max)
    throw FormatError(g.path(),
                      key + " = " + std::to_string(v) + " is out of range [1, " + std::to_string(max) + "]");
  return static_cast<int>(v);
}

// Rejects llama variants whose forward resid does not implement, rather than running them wrongly.
void check_supported_variant(const GgufFile& g) {
  if (g.has(gguf_key::kRopeScalingType)) {
    const std::string type = g.get_string(gguf_key::kRopeScalingType);
    if (type != "none")
      throw FormatError(g.path(), "RoPE scaling '" + printable(type) + "' is not supported");
  }
  if (g.has(gguf_key::kRopeScaleLinear) && g.get_float(gguf_key::kRopeScaleLinear) != 1.0)
    throw FormatError(g.path(), "linear RoPE scaling (llama.rope.scale_linear) is not supported");
  if (g.has(gguf_key::kExpertCount) && g.get_uint(gguf_key::kExpertCount) > 0)
    throw FormatError(g.path(), "mixture-of-experts llama models (llama.expert_count) are not supported");
}

Config read_llama_config(const GgufFile& g, std::vector<std::string>& notes) {
  const std::string arch = g.get_string(gguf_key::kArchitecture);
  if (arch != "llama")
    throw FormatError(g.path(), std::string(gguf_key::kArchitecture) + " is '" + printable(arch) +
                                    "'; resid reads only 'llama'");
  check_supported_variant(g);
  Config c;
  c.d_model = int_key(g, gguf_key::kEmbeddingLength, 1 << 20);
  c.n_layers = int_key(g, gguf_key::kBlockCount, 1 << 16);
  c.n_heads = int_key(g, gguf_key::kHeadCount, 1 << 16);
  if (g.has(gguf_key::kHeadCountKv)) {
    c.n_kv_heads = int_key(g, gguf_key::kHeadCountKv, 1 << 16);
  } else {
    c.n_kv_heads = c.n_heads;
    notes.push_back(std::string(gguf_key::kHeadCountKv) + " absent: assumed n_kv_heads = n_heads");
  }
  c.d_mlp = int_key(g, gguf_key::kFeedForwardLength, 1 << 24);
  c.n_ctx = int_key(g, gguf_key::kContextLength, kMaxContext);
  c.eps = static_cast<float>(g.get_float(gguf_key::kRmsEpsilon));
  if (g.has(gguf_key::kRopeFreqBase)) {
    c.rotary_base = static_cast<float>(g.get_float(gguf_key::kRopeFreqBase));
  } else {
    c.rotary_base = 10000.0f;
    notes.push_back(std::string(gguf_key::kRopeFreqBase) + " absent: assumed 10000");
  }
  if (g.has(gguf_key::kKeyLength)) {
    c.d_head = int_key(g, gguf_key::kKeyLength, 1 << 16);
    if (g.has(gguf_key::kValueLength) && g.get_uint(gguf_key::kValueLength) != uint64_t(c.d_head))
      throw FormatError(g.path(),
                        std::string(gguf_key::kValueLength) + " differs from key_length (not supported)");
  } else {
    if (c.d_model % c.n_heads != 0)
      throw FormatError(g.path(),
                        std::string(gguf_key::kHeadCount) + " = " + std::to_string(c.n_heads) +
                            " does not divide llama.embedding_length = " + std::to_string(c.d_model));
    c.d_head = c.d_model / c.n_heads;
  }
  if (g.has(gguf_key::kRopeDimensionCount) && g.get_uint(gguf_key::kRopeDimensionCount) != uint64_t(c.d_head))
    throw FormatError(g.path(), std::string(gguf_key::kRopeDimensionCount) + " = " +
                                    g.describe(gguf_key::kRopeDimensionCount) +
                                    " rotates part of each head (d_head = " + std::to_string(c.d_head) +
                                    "); partial rotary embeddings are not supported");
  c.act_fn = ActFn::SiLU;
  c.gated_mlp = true;
  // llama.cpp's converters permute Hugging Face q/k rows to adjacent pairs; llama2.c's are already so.
  c.rotary_style = RotaryStyle::Interleaved;

  const std::string embd_name = gguf_role_name(WeightRole::Embed);
  const GgufTensorInfo* embd = g.find_tensor(embd_name);
  if (!embd) throw FormatError(g.path(), "missing tensor " + in_quotes(embd_name));
  if (embd->ne.size() != 2 || embd->ne[1] > std::numeric_limits<int32_t>::max())
    throw FormatError(g.path(), "token_embd.weight has shape " + shape_string(embd->shape()) +
                                    ", expected [d_vocab, d_model]");
  c.d_vocab = static_cast<int>(embd->ne[1]);
  if (g.has(gguf_key::kVocabSize) && g.get_uint(gguf_key::kVocabSize) != uint64_t(c.d_vocab))
    throw FormatError(g.path(), std::string(gguf_key::kVocabSize) + " = " + g.describe(gguf_key::kVocabSize) +
                                    " but token_embd.weight has " + std::to_string(c.d_vocab) + " rows");
  c.tied_embeddings = g.find_tensor(gguf_role_name(WeightRole::Unembed)) == nullptr;
  if (c.tied_embeddings)
    notes.push_back("output.weight absent: the unembedding is tied to token_embd.weight");
  try {
    c.validate();
  } catch (const ConfigError& e) {
    throw FormatError(g.path(), std::string("inconsistent hyper-parameters: ") + e.what());
  }
  return c;
}

// Every tensor must be one the layout expects, with the shape the config implies and a type resid reads;
// checked before any data is converted so a bad file fails fast and names the GGUF tensor.
void check_llama_tensors(const GgufFile& g, const Config& c, const std::vector<WeightSlot>& slots) {
  std::set<std::string> expected;
  for (const WeightSlot& s : slots) {
    const std::string name = gguf_tensor_name(s);
    expected.insert(name);
    const GgufTensorInfo* info = g.find_tensor(name);
    if (!info) throw FormatError(g.path(), "missing tensor " + in_quotes(name));
    const std::vector<int64_t> shape = s.row->shape(c);
    if (info->shape() != shape)
      throw FormatError(g.path(), name + " has shape " + shape_string(info->shape()) + ", expected " +
                                      shape_string(shape) + " for this config");
    if (!info->readable) g.tensor(*info);  // throws, naming the tensor and its type
  }
  for (const GgufTensorInfo& t : g.tensors())
    if (!expected.count(t.name))
      throw FormatError(g.path(), "unexpected tensor " + in_quotes(t.name) + " for the llama architecture");
}

PieceType piece_type(const GgufFile& g, int64_t v, size_t id) {
  // llama.cpp's LLAMA_TOKEN_TYPE_UNDEFINED (0) behaves as a normal piece.
  if (v == 0) return PieceType::Normal;
  if (v < 1 || v > 6)
    throw FormatError(g.path(), std::string(gguf_key::kTokenType) + "[" + std::to_string(id) +
                                    "] = " + std::to_string(v) + " is not a SentencePiece piece type (1-6)");
  return static_cast<PieceType>(v);
}

// A special-token id: u32 in the file, where 0xFFFFFFFF (llama.cpp's -1) means none.
int token_id(const GgufFile& g, const std::string& key, int fallback, size_t n_pieces) {
  if (!g.has(key)) return fallback;
  const uint64_t v = g.get_uint(key);
  if (v == 0xFFFFFFFFu) return -1;
  if (v >= n_pieces)
    throw FormatError(g.path(), key + " = " + std::to_string(v) + " is outside the vocabulary (" +
                                    std::to_string(n_pieces) + " pieces)");
  return static_cast<int>(v);
}

std::unique_ptr<Tokenizer> spm_from_metadata(const GgufFile& g) {
  SpmVocab v;
  v.pieces = g.get_string_array(gguf_key::kTokens);
  const size_t n = v.pieces.size();
  if (n == 0 || n > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    throw FormatError(g.path(), std::string(gguf_key::kTokens) + " has " + std::to_string(n) + " pieces");
  if (g.has(gguf_key::kScores)) {
    v.scores = g.get_float_array(gguf_key::kScores);
  } else {
    v.scores.assign(n, 0.0f);  // the spec: absent scores mean equal probability
  }
  if (v.scores.size() != n)
    throw FormatError(g.path(), std::string(gguf_key::kScores) + " has " + std::to_string(v.scores.size()) +
                                    " entries for " + std::to_string(n) + " pieces");
  if (g.has(gguf_key::kTokenType)) {
    const std::vector<int64_t> types = g.get_int_array(gguf_key::kTokenType);
    if (types.size() != n)
      throw FormatError(g.path(), std::string(gguf_key::kTokenType) + " has " + std::to_string(types.size()) +
                                      " entries for " + std::to_string(n) + " pieces");
    v.types.reserve(n);
    for (size_t i = 0; i < n; ++i) v.types.push_back(piece_type(g, types[i], i));
  }
  v.bos_id = token_id(g, gguf_key::kBosId, 1, n);
  v.eos_id = token_id(g, gguf_key::kEosId, 2, n);
  v.unk_id = token_id(g, gguf_key::kUnknownId, 0, n);
  if (g.has(gguf_key::kAddSpacePrefix)) v.add_space_prefix = g.get_bool(gguf_key::kAddSpacePrefix);
  const std::string description =
      "GGUF SentencePiece vocabulary, " + std::to_string(n) + " pieces, " + g.path();
  try {
    return std::make_unique<SpmTokenizer>(std::move(v), description);
  } catch (const InputError& e) {
    throw FormatError(g.path(), std::string("embedded tokenizer: ") + e.what());
  }
}

bool has_spm_tokenizer(const GgufFile& g) {
  return g.has(gguf_key::kTokenizerModel) && g.get_string(gguf_key::kTokenizerModel) == "llama";
}

}  // namespace

LoadedModel load_gguf(const std::string& path) {
  const GgufFile g(path);
  LoadedModel model;
  model.path = path;
  model.format = ModelFormat::Gguf;
  model.format_detail = "GGUF v" + std::to_string(g.version());
  if (g.has(gguf_key::kName))
    model.notes.push_back(std::string(gguf_key::kName) + ": " + g.describe(gguf_key::kName));

  const Config config = read_llama_config(g, model.notes);
  TransformerWeights weights;
  weights.layers.resize(config.n_layers);
  const std::vector<WeightSlot> slots = llama_slots(config);
  check_llama_tensors(g, config, slots);

  int n_mapped = 0;
  std::map<std::string, int> converted;  // dtype name -> count
  for (const WeightSlot& s : slots) {
    const GgufTensorInfo& info = *g.find_tensor(gguf_tensor_name(s));
    bool mapped = false;
    weight_tensor(weights, s) = g.tensor(info, &mapped);
    model.tensors.push_back({info.name, ggml_dtype(info.type), info.shape(), mapped});
    if (mapped)
      ++n_mapped;
    else
      ++converted[ggml_type_name(info.type)];
  }
  if (config.tied_embeddings) weights.unembed = weights.embed;
  if (n_mapped)
    model.notes.push_back(std::to_string(n_mapped) + " F32 tensors used in place from the memory map");
  for (const auto& [type, count] : converted)
    model.notes.push_back(std::to_string(count) + " " + type + " tensors converted to float32");

  try {
    model.transformer = std::make_shared<const Transformer>(config, std::move(weights), path);
  } catch (const ConfigError& e) {
    throw FormatError(path, std::string("inconsistent hyper-parameters: ") + e.what());
  }

  if (has_spm_tokenizer(g)) {
    model.tokenizer = spm_from_metadata(g);
    if (model.tokenizer->vocab_size() != config.d_vocab)
      throw FormatError(path, "embedded vocabulary has " + std::to_string(model.tokenizer->vocab_size()) +
                                  " pieces but token_embd.weight has " + std::to_string(config.d_vocab) +
                                  " rows");
    model.notes.push_back("tokenizer: " + model.tokenizer->describe());
  } else if (g.has(gguf_key::kTokenizerModel)) {
    model.notes.push_back(std::string(gguf_key::kTokenizerModel) + " is '" +
                          g.describe(gguf_key::kTokenizerModel) +
                          "', not SentencePiece ('llama'): no tokenizer loaded");
  } else {
    model.notes.push_back("no tokenizer in the metadata");
  }
  return model;
}

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const std::string& path) {
  const GgufFile g(path);
  const std::string model = g.get_string(gguf_key::kTokenizerModel);
  if (model != "llama")
    throw FormatError(path, std::string(gguf_key::kTokenizerModel) + " is '" + printable(model) +
                                "'; resid reads only SentencePiece ('llama') vocabularies");
  return spm_from_metadata(g);
}

// ---- writing ----

namespace {

// Norms stay F32 (as llama.cpp stores them); Q8_0 needs whole 32-value blocks per row, else F16.
DType storage_type(const Tensor& t, DType requested) {
  if (t.shape.size() < 2) return DType::F32;
  if (requested == DType::Q8_0 && t.shape.back() % 32 != 0) return DType::F16;
  return requested;
}

uint32_t file_type_of(DType t) {
  switch (t) {
    case DType::F16: return kFileTypeF16;
    case DType::BF16: return kFileTypeBF16;
    case DType::Q8_0: return kFileTypeQ8_0;
    default: return kFileTypeF32;
  }
}

void write_llama_metadata(GgufWriter& h, const std::string& path, const Config& c, DType dtype) {
  h.kv_str(gguf_key::kArchitecture, "llama");
  h.kv_str(gguf_key::kName, std::filesystem::path(path).stem().string());
  h.kv_u32(gguf_key::kAlignment, static_cast<uint32_t>(kGgufAlignment));
  h.kv_u32(gguf_key::kFileType, file_type_of(dtype));
  if (dtype == DType::Q8_0) h.kv_u32(gguf_key::kQuantizationVersion, 2);  // required when quantized
  h.kv_u32(gguf_key::kContextLength, c.n_ctx);
  h.kv_u32(gguf_key::kEmbeddingLength, c.d_model);
  h.kv_u32(gguf_key::kBlockCount, c.n_layers);
  h.kv_u32(gguf_key::kFeedForwardLength, c.d_mlp);
  h.kv_u32(gguf_key::kHeadCount, c.n_heads);
  h.kv_u32(gguf_key::kHeadCountKv, c.n_kv_heads);
  if (c.d_head * c.n_heads != c.d_model) {  // llama.cpp assumes d_model / n_heads otherwise
    h.kv_u32(gguf_key::kKeyLength, c.d_head);
    h.kv_u32(gguf_key::kValueLength, c.d_head);
  }
  h.kv_u32(gguf_key::kRopeDimensionCount, c.d_head);
  h.kv_f32(gguf_key::kRopeFreqBase, c.rotary_base);
  h.kv_f32(gguf_key::kRmsEpsilon, c.eps);
  h.kv_u32(gguf_key::kVocabSize, c.d_vocab);
}

void write_tokenizer_metadata(GgufWriter& h, const std::string& path, const Tokenizer& tok, int d_vocab) {
  const auto* spm = dynamic_cast<const SpmTokenizer*>(&tok);
  if (!spm)
    throw InputError(path +
                     ": GGUF needs the tokenizer's SentencePiece scores and piece types, which only an "
                     "SpmTokenizer exposes (got " +
                     tok.describe() + ")");
  const SpmVocab& v = spm->vocab();
  if (static_cast<int>(v.pieces.size()) != d_vocab)
    throw InputError(path + ": tokenizer has " + std::to_string(v.pieces.size()) +
                     " pieces but the model's vocabulary is d_vocab = " + std::to_string(d_vocab));
  std::vector<int32_t> types;
  for (int id = 0; id < d_vocab; ++id) types.push_back(static_cast<int32_t>(spm->type(id)));
  std::vector<float> scores = v.scores;
  if (scores.empty()) scores.assign(v.pieces.size(), 0.0f);
  // -1 (none) is written as llama.cpp writes it: 0xFFFFFFFF.
  auto id = [](int i) { return i < 0 ? 0xFFFFFFFFu : static_cast<uint32_t>(i); };
  h.kv_str(gguf_key::kTokenizerModel, "llama");
  h.kv_strings(gguf_key::kTokens, v.pieces);
  h.kv_f32s(gguf_key::kScores, scores);
  h.kv_i32s(gguf_key::kTokenType, types);
  h.kv_u32(gguf_key::kBosId, id(v.bos_id));
  h.kv_u32(gguf_key::kEosId, id(v.eos_id));
  h.kv_u32(gguf_key::kUnknownId, id(v.unk_id));
  h.kv_bool(gguf_key::kAddSpacePrefix, v.add_space_prefix);
  h.kv_bool(gguf_key::kAddBos, true);
  h.kv_bool(gguf_key::kAddEos, false);
}

void check_writable(const std::string& path, const Config& config, const TransformerWeights& weights,
                    DType dtype) {
  if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16 && dtype != DType::Q8_0)
    throw InputError(path + ": GGUF tensors can be written as F32, F16, BF16 or Q8_0, not " +
                     dtype_name(dtype));
  config.validate();
  if (!config.gated_mlp || config.act_fn != ActFn::SiLU)
    throw InputError(path + ": GGUF's llama architecture is SwiGLU; this model's FFN is " +
                     config.ffn_name());
  try {
    check_weight_shapes(config, weights, path);
  } catch (const FormatError& e) {
    throw InputError(e.what());  // the caller's weights are wrong, not a file
  }
}

}  // namespace

void write_gguf(const std::string& path, const Config& config, const TransformerWeights& weights,
                const Tokenizer* tokenizer, DType dtype) {
  check_writable(path, config, weights, dtype);

  GgufWriter out;
  write_llama_metadata(out, path, config, dtype);
  if (tokenizer) write_tokenizer_metadata(out, path, *tokenizer, config.d_vocab);
  for (const WeightSlot& s : llama_slots(config)) {
    const Tensor& t = weight_tensor(weights, s);
    // GGUF pairs adjacent q/k rows; Half-style (Hugging Face) rows are permuted to that layout as written.
    const int rope_heads = config.rotary_style == RotaryStyle::Half ? rotary_heads(s, config) : 0;
    out.add_tensor(gguf_tensor_name(s), t.shape, storage_type(t, dtype), [&t, rope_heads] {
      return rope_heads ? permute_qk_rows(t, rope_heads, RotaryStyle::Interleaved) : t;
    });
  }
  out.write(path);
}

}  // namespace resid
