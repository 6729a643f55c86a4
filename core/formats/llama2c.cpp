#include "core/formats/llama2c.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/rotary.h"
#include "core/weight_schema.h"

namespace resid {
namespace {

// Tensors are mapped and written as raw bytes; llama2.c files are little-endian.
static_assert(std::endian::native == std::endian::little, "llama2.c I/O assumes a little-endian host");

constexpr uint32_t kMagic = 0x616b3432;  // "ak42" read as a little-endian uint32 (bytes "24ka" on disk)
constexpr uint64_t kLegacyHeaderBytes = 7 * sizeof(int32_t);
constexpr uint64_t kVersionedHeaderBytes = 256;
constexpr size_t kSharedFlagOffset = 36;  // magic, version, 7 int32
constexpr size_t kGroupSizeOffset = 37;   // right after the flag byte, unaligned (export.py packs it so)
// The forward precomputes RoPE tables of n_ctx * d_head floats; seq_len is not bounded by the file size in
// v1/v2, so a corrupt header could otherwise ask for tens of GiB. 2^26 floats (256 MiB) is 4x a 128K context
// with head size 128.
constexpr int64_t kMaxRopeTableEntries = int64_t{1} << 26;
constexpr float kEps = 1e-5f;
constexpr float kRotaryBase = 10000.0f;

// ---------------------------------------------------------------------------------------------------------
// Header

struct Header {
  Llama2cVersion version = Llama2cVersion::Legacy;
  int32_t dim = 0, hidden_dim = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, vocab_size = 0, seq_len = 0;
  bool shared = true;      // classifier shared with the token embedding
  int32_t group_size = 0;  // v2 only
  uint64_t data_offset = 0;
};

std::string version_name(Llama2cVersion v) {
  switch (v) {
    case Llama2cVersion::Legacy: return "legacy";
    case Llama2cVersion::V1: return "v1";
    case Llama2cVersion::V2: return "v2";
  }
  return "?";
}

uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

void read_dims(ByteReader& r, Header& h) {
  h.dim = r.read<int32_t>("header field dim");
  h.hidden_dim = r.read<int32_t>("header field hidden_dim");
  h.n_layers = r.read<int32_t>("header field n_layers");
  h.n_heads = r.read<int32_t>("header field n_heads");
  h.n_kv_heads = r.read<int32_t>("header field n_kv_heads");
  h.vocab_size = r.read<int32_t>("header field vocab_size");
  h.seq_len = r.read<int32_t>("header field seq_len");
}

Header read_versioned_header(const MappedFile& file) {
  ByteReader r(file);
  Header h;
  r.read<uint32_t>("magic");
  const int32_t version = r.read<int32_t>("version");
  if (version != 1 && version != 2)
    throw FormatError(file.path(), "unknown llama2.c version " + std::to_string(version) +
                                       " after the 'ak42' magic (expected 1 or 2)");
  h.version = version == 1 ? Llama2cVersion::V1 : Llama2cVersion::V2;
  read_dims(r, h);
  const uint8_t flag = r.read<uint8_t>("shared_classifier flag");
  if (flag > 1)
    throw FormatError(file.path(), "shared_classifier flag = " + std::to_string(flag) + " (expected 0 or 1)");
  h.shared = flag == 1;
  if (h.version == Llama2cVersion::V2) h.group_size = r.read<int32_t>("group_size");
  h.data_offset = kVersionedHeaderBytes;
  return h;
}

Header read_legacy_header(const MappedFile& file) {
  ByteReader r(file);
  Header h;
  read_dims(r, h);
  // The sign of vocab_size is the shared-classifier flag; INT32_MIN has no positive counterpart.
  if (h.vocab_size == std::numeric_limits<int32_t>::min())
    throw FormatError(file.path(), "vocab_size = " + std::to_string(h.vocab_size) + " is out of range");
  h.shared = h.vocab_size > 0;
  h.vocab_size = std::abs(h.vocab_size);
  h.data_offset = kLegacyHeaderBytes;
  return h;
}

Header read_header(const MappedFile& file) {
  if (file.size() >= 4 && load_u32(file.data()) == kMagic) return read_versioned_header(file);
  return read_legacy_header(file);
}

// llama2.c's architecture is fixed; only the sizes come from the header.
Config config_from_header(const Header& h, const std::string& path) {
  Config c;
  c.d_model = h.dim;
  c.d_mlp = h.hidden_dim;
  c.n_layers = h.n_layers;
  c.n_heads = h.n_heads;
  c.n_kv_heads = h.n_kv_heads;
  c.d_vocab = h.vocab_size;
  c.n_ctx = h.seq_len;
  // run.c's head_size = dim / n_heads. Kept >= 1 so that when n_heads does not divide dim (or exceeds it)
  // Config::validate reports that, not a derived "d_head = 0".
  c.d_head = h.n_heads > 0 ? std::max(1, h.dim / h.n_heads) : 1;
  c.eps = kEps;
  c.rotary_base = kRotaryBase;
  c.act_fn = ActFn::SiLU;
  c.gated_mlp = true;
  c.tied_embeddings = h.shared;
  c.rotary_style = RotaryStyle::Interleaved;
  try {
    c.validate();
  } catch (const ConfigError& e) {
    throw FormatError(path, std::string("invalid llama2.c header: ") + e.what());
  }
  if (int64_t{c.n_ctx} * c.d_head > kMaxRopeTableEntries)
    throw FormatError(path, "seq_len = " + std::to_string(c.n_ctx) + " with head size " +
                                std::to_string(c.d_head) + " is implausibly large (misread header?)");
  if (h.version == Llama2cVersion::V2) {
    if (h.group_size <= 0)
      throw FormatError(path, "group_size = " + std::to_string(h.group_size) + " must be positive");
    // Every quantised tensor's size is a multiple of dim, so this makes every group whole (runq.c's rule).
    if (h.dim % h.group_size != 0)
      throw FormatError(path, "group_size = " + std::to_string(h.group_size) +
                                  " does not divide dim = " + std::to_string(h.dim));
  }
  return c;
}

// ---------------------------------------------------------------------------------------------------------
// Layout: one list of tensor groups per version, shared by the reader and the writer so they cannot disagree.

// A group is one weight role over all layers (or a legacy freq_cis table), stored contiguously.
enum class Freq { None, Real, Imag };

struct Group {
  const char* name;  // llama2.c's name; per-layer groups become "layers.<l>.<name>"
  bool per_layer;
  std::vector<int64_t> shape;  // of one tensor
  DType dtype;
  const WeightRow* row;  // the weight it holds; nullptr for the freq_cis tables
  Freq freq = Freq::None;

  WeightSlot slot(int layer) const { return {row, per_layer ? layer : -1}; }
};

std::vector<Group> file_layout(Llama2cVersion v, const Config& c) {
  const DType mat = v == Llama2cVersion::V2 ? DType::Q8_0 : DType::F32;
  // Norms (1-D) stay fp32 in every version.
  auto group = [&](const char* name, WeightRole role) {
    const WeightRow& r = weight_row(role);
    std::vector<int64_t> shape = r.shape(c);
    const DType dtype = shape.size() == 1 ? DType::F32 : mat;
    return Group{name, r.per_layer, std::move(shape), dtype, &r};
  };
  using R = WeightRole;
  const Group embed = group("token_embedding_table", R::Embed);
  const Group att_norm = group("rms_att_weight", R::AttnNorm);
  const Group wq = group("wq", R::Wq), wk = group("wk", R::Wk), wv = group("wv", R::Wv),
              wo = group("wo", R::Wo);
  const Group ffn_norm = group("rms_ffn_weight", R::FfnNorm);
  const Group w1 = group("w1", R::Gate), w2 = group("w2", R::Down), w3 = group("w3", R::Up);
  const Group final_norm = group("rms_final_weight", R::FinalNorm);
  std::vector<Group> out;
  if (v == Llama2cVersion::Legacy) {
    const std::vector<int64_t> freq_shape{c.n_ctx, c.d_head / 2};
    const Group freq_real{"freq_cis_real", false, freq_shape, DType::F32, nullptr, Freq::Real};
    const Group freq_imag{"freq_cis_imag", false, freq_shape, DType::F32, nullptr, Freq::Imag};
    out = {embed, att_norm, wq, wk, wv, wo, ffn_norm, w1, w2, w3, final_norm, freq_real, freq_imag};
  } else {
    // export.py's version1_export / version2_export put the fp32 norms first.
    out = {att_norm, ffn_norm, final_norm, embed, wq, wk, wv, wo, w1, w2, w3};
  }
  if (!c.tied_embeddings) out.push_back(group("wcls", R::Unembed));
  return out;
}

std::string tensor_name(const Group& g, int layer) {
  return g.per_layer ? "layers." + std::to_string(layer) + "." + g.name : std::string(g.name);
}

// Sizes come from header ints (up to 2^31 each), so products of three of them overflow 64 bits: check.
struct SizeOverflow {};

uint64_t checked_mul(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) throw SizeOverflow{};
  return r;
}

uint64_t checked_add(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) throw SizeOverflow{};
  return r;
}

uint64_t element_count(const Group& g) {
  uint64_t n = 1;
  for (int64_t d : g.shape) n = checked_mul(n, static_cast<uint64_t>(d));
  return n;
}

// Bytes of one tensor of the group. Q8_0: the int8 values, then one float32 scale per group.
uint64_t tensor_bytes(const Group& g, int group_size) {
  const uint64_t n = element_count(g);
  if (g.dtype == DType::F32) return checked_mul(n, sizeof(float));
  return checked_add(n, checked_mul(n / static_cast<uint64_t>(group_size), sizeof(float)));
}

// The exact file size the header implies. Closed form over groups (count x bytes), so a huge n_layers costs
// nothing before it is rejected.
uint64_t expected_file_size(const Header& h, const std::vector<Group>& layout, const std::string& path,
                            uint64_t actual) {
  try {
    uint64_t total = h.data_offset;
    for (const Group& g : layout) {
      const uint64_t count = g.per_layer ? static_cast<uint64_t>(h.n_layers) : 1;
      total = checked_add(total, checked_mul(count, tensor_bytes(g, h.group_size)));
    }
    return total;
  } catch (const SizeOverflow&) {
    throw FormatError(path,
                      "truncated: header implies more than 2^64 bytes, file has " + std::to_string(actual));
  }
}

void check_file_size(const Header& h, const std::vector<Group>& layout, const MappedFile& file) {
  const uint64_t expected = expected_file_size(h, layout, file.path(), file.size());
  const std::string sizes =
      "header implies " + std::to_string(expected) + " bytes, file has " + std::to_string(file.size());
  if (file.size() < expected) throw FormatError(file.path(), "truncated: " + sizes);
  if (file.size() > expected)
    throw FormatError(file.path(), "trailing bytes: " + sizes + " (misread header, or not a llama2.c " +
                                       version_name(h.version) + " checkpoint?)");
}

// ---------------------------------------------------------------------------------------------------------
// Loading

// Scales are max|w| / 127, never negative or non-finite. Checking them catches corruption and the early
// export.py v2 layout (all int8 values first, all scales at the end: same size, but the "scales" read here
// are then int8 bytes, which runq.c cannot read either).
void check_scale(float scale, int64_t group, const std::string& name, const std::string& path) {
  if (std::isfinite(scale) && scale >= 0.0f) return;
  std::ostringstream s;
  s << name << ": Q8_0 scale of group " << group << " is " << scale
    << " (scales are max|w|/127; corrupt file, or the early v2 layout with all scales at the end?)";
  throw FormatError(path, s.str());
}

Tensor dequantize_q8(const uint8_t* p, const std::vector<int64_t>& shape, int64_t numel, int group_size,
                     const std::string& name, const std::string& path) {
  std::vector<float> out(static_cast<size_t>(numel));
  const int8_t* q = reinterpret_cast<const int8_t*>(p);
  const uint8_t* scales = p + numel;  // unaligned after the int8 values: read with memcpy
  const int64_t n_groups = numel / group_size;
  for (int64_t g = 0; g < n_groups; ++g) {
    float scale;
    std::memcpy(&scale, scales + g * sizeof(float), sizeof(float));
    check_scale(scale, g, name, path);
    const int64_t base = g * group_size;
    for (int64_t i = 0; i < group_size; ++i) out[base + i] = static_cast<float>(q[base + i]) * scale;
  }
  return Tensor::owned(shape, std::move(out));
}

// run.c stopped using the legacy freq_cis tables; they are skipped, but if they were exported with another
// RoPE base the model would silently change, so compare position 1 (cos/sin of the bare frequencies).
std::string check_freq_tables(const float* real, const float* imag, const Config& c) {
  const int half = c.d_head / 2;
  if (c.n_ctx < 2) return {};
  float worst = 0.0f;
  for (int i = 0; i < half; ++i) {
    const float freq = 1.0f / std::pow(kRotaryBase, static_cast<float>(2 * i) / static_cast<float>(c.d_head));
    worst = std::max(worst, std::abs(real[half + i] - std::cos(freq)));
    worst = std::max(worst, std::abs(imag[half + i] - std::sin(freq)));
  }
  if (!(worst <= 1e-4f)) {  // also catches NaN
    std::ostringstream s;
    s << "warning: the file's freq_cis tables do not match RoPE base 10000 (position 1 differs by " << worst
      << "); they are ignored as run.c ignores them, so the model runs with base 10000";
    return s.str();
  }
  return {};
}

std::string format_detail(const Header& h) {
  switch (h.version) {
    case Llama2cVersion::Legacy: return "llama2.c legacy";
    case Llama2cVersion::V1: return "llama2.c v1 (fp32)";
    case Llama2cVersion::V2: return "llama2.c v2 (Q8_0, group " + std::to_string(h.group_size) + ")";
  }
  return "llama2.c";
}

std::string megabytes(uint64_t bytes) {
  std::ostringstream s;
  s.precision(3);
  s << static_cast<double>(bytes) / (1024.0 * 1024.0) << " MiB";
  return s.str();
}

void add_notes(LoadedModel& m, const Header& h, const Config& c, uint64_t dequantised_bytes) {
  m.notes.push_back(
      "llama2.c fixes the architecture: head size dim / n_heads = " + std::to_string(c.d_head) +
      ", RMSNorm eps 1e-5, RoPE base 10000 on adjacent pairs, SwiGLU (w1 = gate, w3 = up, w2 = down)");
  m.notes.push_back("n_ctx = seq_len = " + std::to_string(c.n_ctx) + " from the header");
  m.notes.push_back(h.shared ? "classifier shared with the token embedding (tied)"
                             : "separate classifier wcls (untied embeddings)");
  if (h.version == Llama2cVersion::Legacy)
    m.notes.push_back("freq_cis_real/freq_cis_imag tables skipped (RoPE is recomputed)");
  if (h.version == Llama2cVersion::V2)
    m.notes.push_back("Q8_0 tensors (group " + std::to_string(h.group_size) +
                      ") dequantised to float32 at load: " + megabytes(dequantised_bytes) +
                      " owned; fp32 norms used in place from the memory map");
  else
    m.notes.push_back("all weights are float32, used in place from the memory map (no copy)");
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------

bool sniff_llama2c(const uint8_t* head, size_t size) {
  if (size >= 4 && load_u32(head) == kMagic) return true;  // any version: the loader explains unknown ones
  if (size < kLegacyHeaderBytes) return false;
  int32_t d[7];
  std::memcpy(d, head, sizeof(d));
  const int64_t dim = d[0], hidden = d[1], layers = d[2], heads = d[3], kv = d[4], seq = d[6];
  const int64_t vocab = std::abs(int64_t{d[5]});
  auto in = [](int64_t v, int64_t lo, int64_t hi) { return v >= lo && v <= hi; };
  // Generous bounds (Llama-3-70B fits with room); other formats' first bytes (JSON lengths, text) fail them.
  // Divisibility is left to the loader, which explains it.
  return in(dim, 1, 1 << 20) && in(hidden, 1, 1 << 22) && in(layers, 0, 1 << 12) && in(heads, 1, dim) &&
         in(kv, 1, heads) && in(vocab, 1, 1 << 24) && in(seq, 1, 1 << 24);
}

LoadedModel load_llama2c(const std::string& path) {
  std::shared_ptr<const MappedFile> file = MappedFile::open(path);
  const Header h = read_header(*file);
  const Config config = config_from_header(h, path);
  const std::vector<Group> layout = file_layout(h.version, config);
  check_file_size(h, layout, *file);

  LoadedModel m;
  m.path = path;
  m.format = ModelFormat::Llama2c;
  m.format_detail = format_detail(h);

  TransformerWeights w;
  w.layers.resize(config.n_layers);
  const float* freq[2] = {nullptr, nullptr};
  uint64_t offset = h.data_offset, dequantised_bytes = 0;
  for (const Group& g : layout) {
    const int count = g.per_layer ? config.n_layers : 1;
    const int64_t numel = static_cast<int64_t>(element_count(g));  // fits: the file holds these bytes
    const uint64_t bytes = tensor_bytes(g, h.group_size);
    for (int i = 0; i < count; ++i, offset += bytes) {
      const std::string name = tensor_name(g, i);
      const uint8_t* p = file->at(offset, bytes, name);
      if (g.freq != Freq::None) {
        freq[g.freq == Freq::Imag] = reinterpret_cast<const float*>(p);
        continue;
      }
      if (g.dtype == DType::F32) {
        // Offsets are multiples of 4 from a page-aligned map, so the floats are aligned.
        weight_tensor(w, g.slot(i)) = Tensor::view(g.shape, reinterpret_cast<const float*>(p), file);
      } else {
        weight_tensor(w, g.slot(i)) = dequantize_q8(p, g.shape, numel, h.group_size, name, path);
        dequantised_bytes += static_cast<uint64_t>(numel) * sizeof(float);
      }
      m.tensors.push_back({name, g.dtype, g.shape, g.dtype == DType::F32});
    }
  }
  if (config.tied_embeddings) w.unembed = w.embed;

  add_notes(m, h, config, dequantised_bytes);
  if (freq[0] && freq[1]) {
    const std::string warning = check_freq_tables(freq[0], freq[1], config);
    if (!warning.empty()) m.notes.push_back(warning);
  }
  m.transformer = std::make_shared<Transformer>(config, std::move(w), path);
  return m;
}

// ---------------------------------------------------------------------------------------------------------
// Writing

namespace {

void check_writable(const std::string& path, const Config& c, const TransformerWeights& w, Llama2cVersion v,
                    int group_size) {
  try {
    c.validate();
  } catch (const ConfigError& e) {
    throw ConfigError(path + ": " + e.what());
  }
  auto refuse = [&](const std::string& why) {
    throw InputError(path + ": cannot write as llama2.c: " + why);
  };
  if (!c.gated_mlp || c.act_fn != ActFn::SiLU)
    refuse("it only stores SwiGLU FFNs, this model has " + c.ffn_name());
  if (int64_t{c.d_head} * c.n_heads != c.d_model)
    refuse("it derives head size as dim / n_heads = " + std::to_string(c.d_model / c.n_heads) +
           ", this model has d_head = " + std::to_string(c.d_head));
  if (c.eps != kEps) refuse("it fixes RMSNorm eps at 1e-5, this model has eps = " + std::to_string(c.eps));
  if (c.rotary_base != kRotaryBase)
    refuse("it fixes the RoPE base at 10000, this model has " + std::to_string(c.rotary_base));
  if (v == Llama2cVersion::V2 &&
      (group_size <= 0 || c.d_model % group_size != 0 || c.d_mlp % group_size != 0))
    refuse("Q8_0 group_size = " + std::to_string(group_size) + " must be positive and divide d_model = " +
           std::to_string(c.d_model) + " and d_mlp = " + std::to_string(c.d_mlp));
  check_weight_shapes(c, w, path);
}

template <typename T>
void put(std::array<uint8_t, kVersionedHeaderBytes>& header, size_t offset, T value) {
  std::memcpy(header.data() + offset, &value, sizeof(T));
}

void write_header(AtomicFile& out, const Config& c, Llama2cVersion v, int group_size) {
  const bool shared = c.tied_embeddings;
  // The legacy format has no flag byte: a negative vocab_size means a separate classifier.
  const int32_t vocab = v == Llama2cVersion::Legacy && !shared ? -c.d_vocab : c.d_vocab;
  const int32_t dims[7] = {c.d_model, c.d_mlp, c.n_layers, c.n_heads, c.n_kv_heads, vocab, c.n_ctx};
  if (v == Llama2cVersion::Legacy) return out.write(dims, sizeof(dims));
  std::array<uint8_t, kVersionedHeaderBytes> header{};  // zero padding
  put<uint32_t>(header, 0, kMagic);
  put<int32_t>(header, 4, static_cast<int32_t>(v));
  std::memcpy(header.data() + 8, dims, sizeof(dims));
  put<uint8_t>(header, kSharedFlagOffset, shared ? 1 : 0);
  if (v == Llama2cVersion::V2) put<int32_t>(header, kGroupSizeOffset, group_size);
  out.write(header.data(), header.size());
}

// The legacy tables as export.py wrote them ([seq_len, head_size/2], float arithmetic like model.py), so old
// readers that still use them (the original run.c) get the right rotation.
std::vector<float> freq_table(const Config& c, bool imag) {
  const int half = c.d_head / 2;
  std::vector<float> t(static_cast<size_t>(c.n_ctx) * half);
  for (int p = 0; p < c.n_ctx; ++p) {
    for (int i = 0; i < half; ++i) {
      const float freq =
          1.0f / std::pow(kRotaryBase, static_cast<float>(2 * i) / static_cast<float>(c.d_head));
      const float angle = static_cast<float>(p) * freq;
      t[static_cast<size_t>(p) * half + i] = imag ? std::sin(angle) : std::cos(angle);
    }
  }
  return t;
}

// export.py's quantize_q80: per group of `group_size` consecutive values of the flattened tensor,
// scale = max|w| / 127 and q = round(w / scale), half to even like torch.round. All int8 values of the tensor
// are written first, then all its scales.
void write_q8(AtomicFile& out, const float* w, int64_t n, int group_size, const std::string& name,
              const std::string& path) {
  std::vector<int8_t> q(static_cast<size_t>(n));
  std::vector<float> scales(static_cast<size_t>(n / group_size));
  for (int64_t g = 0; g < n / group_size; ++g) {
    const float* x = w + g * group_size;
    float wmax = 0.0f;
    for (int i = 0; i < group_size; ++i) wmax = std::max(wmax, std::abs(x[i]));
    if (!std::isfinite(wmax))
      throw InputError(path + ": " + name + " holds a non-finite value; cannot quantise");
    const float scale = wmax / 127.0f;
    scales[g] = scale;
    for (int i = 0; i < group_size; ++i) {
      // An all-zero group has scale 0: its values are 0 (torch would divide 0/0).
      const float v = scale > 0.0f ? std::nearbyint(x[i] / scale) : 0.0f;
      q[g * group_size + i] = static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f));
    }
  }
  out.write(q.data(), q.size());
  out.write(scales.data(), scales.size() * sizeof(float));
}

void write_tensor(AtomicFile& out, const Group& g, int layer, const Config& c, const TransformerWeights& w,
                  int group_size, const std::string& path) {
  if (g.freq != Freq::None) {
    const std::vector<float> t = freq_table(c, g.freq == Freq::Imag);
    return out.write(t.data(), t.size() * sizeof(float));
  }
  const Tensor& stored = weight_tensor(w, g.slot(layer));
  // llama2.c pairs adjacent q/k rows: Half-style (Hugging Face) rows go back to that layout.
  const int heads = rotary_heads(g.slot(layer), c);
  const Tensor t = c.rotary_style == RotaryStyle::Half && heads > 0
                       ? permute_qk_rows(stored, heads, RotaryStyle::Interleaved)
                       : stored;
  const float* data = t.data;
  if (g.dtype == DType::F32) return out.write(data, static_cast<size_t>(t.numel()) * sizeof(float));
  write_q8(out, data, t.numel(), group_size, tensor_name(g, layer), path);
}

}  // namespace

void write_llama2c(const std::string& path, const Config& config, const TransformerWeights& weights,
                   Llama2cVersion version, int group_size) {
  check_writable(path, config, weights, version, group_size);
  AtomicFile out(path);
  write_header(out, config, version, group_size);
  for (const Group& g : file_layout(version, config)) {
    const int count = g.per_layer ? config.n_layers : 1;
    for (int i = 0; i < count; ++i) write_tensor(out, g, i, config, weights, group_size, path);
  }
  out.commit();
}

}  // namespace resid
