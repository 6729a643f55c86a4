// llama2.c checkpoints (karpathy/llama2.c: run.c, runq.c, export.py). Three layouts, all little-endian:
//
//   legacy  7 int32 header: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size (negative = separate
//           classifier), seq_len. Then fp32: token_embedding_table, rms_att_weight[L], wq[L], wk[L], wv[L],
//           wo[L], rms_ffn_weight[L], w1[L], w2[L], w3[L], rms_final_weight, freq_cis_real and freq_cis_imag
//           ([seq_len, head_size/2] each; ignored, RoPE is recomputed), then wcls when not shared.
//   v1      256-byte header: uint32 magic 0x616b3432 ("ak42"), int32 version = 1, the same 7 int32
//           (vocab_size always positive), uint8 shared_classifier at byte 36, zero padding. Then fp32:
//           rms_att_weight[L], rms_ffn_weight[L], rms_final_weight, token_embedding_table, wq[L], wk[L],
//           wv[L], wo[L], w1[L], w2[L], w3[L], wcls when not shared.
//   v2      as v1 with version = 2 and an int32 group_size at byte 37 (unaligned). The norms (rms_att[L],
//           rms_ffn[L], rms_final) stay fp32; every other tensor, in v1's order, is Q8_0: int8 values for the
//           flattened tensor immediately followed by its float32 scales, one per group of group_size values
//           (value = int8 * scale; scale = max|w| / 127 over the group). This is runq.c's layout; an early
//           export.py wrote all scales after all int8 values, which the loader rejects via the scale check.
//
// Matrices are PyTorch (out, in) row-major, as TransformerWeights holds them: w1 = gate, w3 = up, w2 = down.
// The architecture is fixed: head size dim / n_heads, RMSNorm eps 1e-5, RoPE base 10000 on adjacent pairs
// (RotaryStyle::Interleaved), SwiGLU.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/formats/model_file.h"

namespace resid {

enum class Llama2cVersion { Legacy = 0, V1 = 1, V2 = 2 };

// True when the first bytes look like a llama2.c checkpoint (magic 'ak42' or a plausible legacy header:
// positive, not absurdly large dims with n_heads dividing dim). `size` is how many bytes `head` holds.
bool sniff_llama2c(const uint8_t* head, size_t size);

// Loads the weights (F32 mapped in place; Q8_0 dequantised into owned float32 buffers). Validates the header
// with Config::validate and requires the file size to be exactly what the header implies. Does not look for a
// tokenizer. Throws FormatError naming `path`.
LoadedModel load_llama2c(const std::string& path);

// Writes `weights` in the given version (V2 quantises with `group_size`, which must divide d_model and
// d_mlp), atomically (a temporary file in the same directory, renamed over `path`). The config must be one
// llama2.c can express (SwiGLU, d_head = d_model / n_heads, eps 1e-5, rotary base 10000; throws InputError
// otherwise). RotaryStyle::Half weights (Hugging Face layout) have their q/k rows permuted back to llama2.c's
// interleaved order: within each head of size d, interleaved row 2i + p (p in {0, 1}, i < d/2) is Half row
// p * d/2 + i.
void write_llama2c(const std::string& path, const Config& config, const TransformerWeights& weights,
                   Llama2cVersion version = Llama2cVersion::Legacy, int group_size = 64);

}  // namespace resid
