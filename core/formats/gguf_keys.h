// The GGUF metadata keys resid reads and writes (llama.cpp's names), spelled once so the reader and the
// writer cannot drift apart. Internal to core/formats.
#pragma once

namespace resid::gguf_key {

// general.*
inline constexpr char kArchitecture[] = "general.architecture";
inline constexpr char kName[] = "general.name";
inline constexpr char kAlignment[] = "general.alignment";
inline constexpr char kFileType[] = "general.file_type";
inline constexpr char kQuantizationVersion[] = "general.quantization_version";

// llama.* hyper-parameters
inline constexpr char kContextLength[] = "llama.context_length";
inline constexpr char kEmbeddingLength[] = "llama.embedding_length";
inline constexpr char kBlockCount[] = "llama.block_count";
inline constexpr char kFeedForwardLength[] = "llama.feed_forward_length";
inline constexpr char kHeadCount[] = "llama.attention.head_count";
inline constexpr char kHeadCountKv[] = "llama.attention.head_count_kv";
inline constexpr char kKeyLength[] = "llama.attention.key_length";
inline constexpr char kValueLength[] = "llama.attention.value_length";
inline constexpr char kRmsEpsilon[] = "llama.attention.layer_norm_rms_epsilon";
inline constexpr char kRopeDimensionCount[] = "llama.rope.dimension_count";
inline constexpr char kRopeFreqBase[] = "llama.rope.freq_base";
inline constexpr char kVocabSize[] = "llama.vocab_size";
// llama variants resid refuses (read only)
inline constexpr char kRopeScalingType[] = "llama.rope.scaling.type";
inline constexpr char kRopeScaleLinear[] = "llama.rope.scale_linear";
inline constexpr char kExpertCount[] = "llama.expert_count";

// tokenizer.ggml.*
inline constexpr char kTokenizerModel[] = "tokenizer.ggml.model";
inline constexpr char kTokens[] = "tokenizer.ggml.tokens";
inline constexpr char kScores[] = "tokenizer.ggml.scores";
inline constexpr char kTokenType[] = "tokenizer.ggml.token_type";
inline constexpr char kBosId[] = "tokenizer.ggml.bos_token_id";
inline constexpr char kEosId[] = "tokenizer.ggml.eos_token_id";
inline constexpr char kUnknownId[] = "tokenizer.ggml.unknown_token_id";
inline constexpr char kAddSpacePrefix[] = "tokenizer.ggml.add_space_prefix";
inline constexpr char kAddBos[] = "tokenizer.ggml.add_bos_token";
inline constexpr char kAddEos[] = "tokenizer.ggml.add_eos_token";

}  // namespace resid::gguf_key
