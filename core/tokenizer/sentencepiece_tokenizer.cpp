#include "core/tokenizer/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include <algorithm>

#include "core/error.h"
#include "core/mapped_file.h"

namespace resid {
namespace {

// Encodes through libsentencepiece itself, so ids and offsets are the reference implementation's.
class SentencePieceTokenizer : public Tokenizer {
 public:
  SentencePieceTokenizer(std::unique_ptr<sentencepiece::SentencePieceProcessor> sp, std::string path)
      : sp_(std::move(sp)), path_(std::move(path)) {}

  int vocab_size() const override { return sp_->GetPieceSize(); }
  int bos_id() const override { return sp_->bos_id(); }
  int eos_id() const override { return sp_->eos_id(); }

  std::string piece(int id) const override {
    check_id(id);
    return sp_->IdToPiece(id);
  }

  std::vector<int> encode(std::string_view text, bool add_bos) const override {
    std::vector<int> ids;
    if (add_bos) ids.push_back(required_bos());
    std::vector<int> body;
    check(sp_->Encode(text, &body));
    ids.insert(ids.end(), body.begin(), body.end());
    return ids;
  }

  std::vector<TokenSpan> encode_with_offsets(std::string_view text, bool add_bos) const override {
    std::vector<TokenSpan> spans;
    if (add_bos) spans.push_back({required_bos(), 0, 0});
    sentencepiece::ImmutableSentencePieceText spt;
    check(sp_->Encode(text, spt.mutable_proto()));
    for (size_t i = 0; i < spt.pieces_size(); ++i) {
      const auto p = spt.pieces(static_cast<int>(i));
      spans.push_back({static_cast<int>(p.id()), p.begin(), p.end()});
    }
    return spans;
  }

  std::string decode_token(int prev, int id) const override {
    check_id(id);
    if (sp_->IsControl(id)) return "";
    return Tokenizer::decode_token(prev, id);
  }

  std::string describe() const override {
    return "SentencePiece model, " + std::to_string(vocab_size()) + " pieces, " + path_;
  }

 private:
  void check_id(int id) const {
    if (id < 0 || id >= vocab_size()) {
      throw InputError("token id " + std::to_string(id) + " is out of range [0, " +
                       std::to_string(vocab_size()) + ") of " + describe());
    }
  }

  int required_bos() const {
    if (bos_id() < 0) throw InputError(path_ + ": BOS requested but the SentencePiece model has none");
    return bos_id();
  }

  void check(const sentencepiece::util::Status& status) const {
    if (!status.ok()) throw InputError(path_ + ": sentencepiece encode failed: " + status.ToString());
  }

  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::string path_;
};

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const std::string& path) {
  // Map the file ourselves so a missing or unreadable file reports like every other format.
  const auto file = MappedFile::open(path);
  auto sp = std::make_unique<sentencepiece::SentencePieceProcessor>();
  const std::string_view bytes(reinterpret_cast<const char*>(file->data()), file->size());
  const auto status = sp->LoadFromSerializedProto(bytes);
  if (!status.ok()) {
    std::string why = status.message();
    std::replace(why.begin(), why.end(), '\n', ' ');  // messages are one line
    throw FormatError(path, "not a valid SentencePiece model (" + why + ")");
  }
  if (sp->GetPieceSize() <= 0) throw FormatError(path, "SentencePiece model has no pieces");
  return std::make_unique<SentencePieceTokenizer>(std::move(sp), path);
}

}  // namespace resid
