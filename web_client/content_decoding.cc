#include "web_client/content_decoding.h"

#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "http/headers.h"
#include "web_client/errors.h"

namespace deft::web {
namespace {

constexpr std::size_t kPiece = 64 << 10;  // decoded bytes handed on at a time
constexpr std::size_t kMaxCodings = 5;    // curl's limit: each layer costs a decoder's memory

// gzip, and deflate: the zlib format as RFC 9110 says, or the raw deflate some servers send
// instead (told apart by the zlib header's check bits, as curl and browsers do).
class ZlibDecoder final : public ContentDecoder {
 public:
  explicit ZlibDecoder(bool deflate) : deflate_(deflate) {}
  ~ZlibDecoder() override {
    if (started_) inflateEnd(&z_);
  }

  void decode(std::string_view in, const absl::FunctionRef<void(std::string_view)>& out) override {
    if (!started_) {
      pending_.append(in);
      if (deflate_ && pending_.size() < 2) return;
      // 32 + MAX_WBITS: a gzip or zlib header, detected. -MAX_WBITS: raw deflate.
      int windowBits = 32 + MAX_WBITS;
      if (deflate_) {
        const auto b0 = static_cast<unsigned char>(pending_[0]);
        const auto b1 = static_cast<unsigned char>(pending_[1]);
        if ((b0 & 0x0F) != 8 || ((b0 << 8) | b1) % 31 != 0) windowBits = -MAX_WBITS;
      }
      if (inflateInit2(&z_, windowBits) != Z_OK) throw DecodingError("zlib: cannot start");
      started_ = true;
      std::string first = std::move(pending_);
      run(first, out);
      return;
    }
    run(in, out);
  }

  void finish() override {
    if (!ended_) throw DecodingError(deflate_ ? "deflate: truncated stream" : "gzip: truncated stream");
  }

 private:
  void run(std::string_view in, const absl::FunctionRef<void(std::string_view)>& out) {
    if (ended_) return;  // bytes after the end of the stream are ignored
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    char* buffer = buffer_.get();
    do {
      z_.next_out = reinterpret_cast<Bytef*>(buffer);
      z_.avail_out = kPiece;
      const int rc = inflate(&z_, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        throw DecodingError(absl::StrCat(deflate_ ? "deflate: " : "gzip: ",
                                         z_.msg != nullptr ? z_.msg : "corrupt stream"));
      }
      if (kPiece - z_.avail_out > 0) out(std::string_view(buffer, kPiece - z_.avail_out));
      if (rc == Z_STREAM_END) {
        ended_ = true;
        return;
      }
      if (rc == Z_BUF_ERROR) return;  // no progress possible: it needs more input
    } while (z_.avail_in > 0 || z_.avail_out == 0);
  }

  bool deflate_;
  bool started_ = false;
  bool ended_ = false;
  std::string pending_;  // the first bytes, until the format is known
  z_stream z_{};
  std::unique_ptr<char[]> buffer_ = std::make_unique<char[]>(kPiece);  // not on the stack
};

class BrotliDecoder final : public ContentDecoder {
 public:
  BrotliDecoder() : state_(BrotliDecoderCreateInstance(nullptr, nullptr, nullptr)) {
    if (state_ == nullptr) throw DecodingError("br: cannot start");
  }
  ~BrotliDecoder() override { BrotliDecoderDestroyInstance(state_); }

  void decode(std::string_view in, const absl::FunctionRef<void(std::string_view)>& out) override {
    if (ended_) return;
    auto next = reinterpret_cast<const std::uint8_t*>(in.data());
    std::size_t available = in.size();
    std::uint8_t* buffer = buffer_.get();
    for (;;) {
      std::uint8_t* nextOut = buffer;
      std::size_t room = kPiece;
      const BrotliDecoderResult result =
          BrotliDecoderDecompressStream(state_, &available, &next, &room, &nextOut, nullptr);
      if (room < kPiece) {
        out(std::string_view(reinterpret_cast<const char*>(buffer), kPiece - room));
      }
      switch (result) {
        case BROTLI_DECODER_RESULT_SUCCESS:
          ended_ = true;
          return;
        case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT:
          return;
        case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT:
          continue;
        default:
          throw DecodingError(absl::StrCat(
              "br: ", BrotliDecoderErrorString(BrotliDecoderGetErrorCode(state_))));
      }
    }
  }

  void finish() override {
    if (!ended_) throw DecodingError("br: truncated stream");
  }

 private:
  BrotliDecoderState* state_;
  bool ended_ = false;
  std::unique_ptr<std::uint8_t[]> buffer_ = std::make_unique<std::uint8_t[]>(kPiece);
};

class ZstdDecoder final : public ContentDecoder {
 public:
  ZstdDecoder() : stream_(ZSTD_createDStream()) {
    if (stream_ == nullptr) throw DecodingError("zstd: cannot start");
    // The window a frame may ask for: 8 MiB, as RFC 8878 §3 asks of HTTP decoders. A frame that
    // wants more is refused rather than allowed to take gigabytes.
    ZSTD_DCtx_setParameter(stream_, ZSTD_d_windowLogMax, 23);
  }
  ~ZstdDecoder() override { ZSTD_freeDStream(stream_); }

  void decode(std::string_view in, const absl::FunctionRef<void(std::string_view)>& out) override {
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    char* buffer = buffer_.get();
    for (;;) {
      ZSTD_outBuffer output{buffer, kPiece, 0};
      const std::size_t consumed = input.pos;
      const std::size_t rc = ZSTD_decompressStream(stream_, &output, &input);
      if (ZSTD_isError(rc)) throw DecodingError(absl::StrCat("zstd: ", ZSTD_getErrorName(rc)));
      if (output.pos > 0) out(std::string_view(buffer, output.pos));
      // 0: a frame ended and is flushed (another may follow). A call that only drained output
      // after that says nothing new.
      if (rc == 0) {
        frameEnded_ = true;
      } else if (input.pos > consumed) {
        frameEnded_ = false;
      }
      if (input.pos == input.size && output.pos < output.size) return;
    }
  }

  void finish() override {
    if (!frameEnded_) throw DecodingError("zstd: truncated stream");
  }

 private:
  ZSTD_DStream* stream_;
  bool frameEnded_ = false;
  std::unique_ptr<char[]> buffer_ = std::make_unique<char[]>(kPiece);
};

// What the decoded body's consumer shares.
struct Decoding {
  std::vector<std::unique_ptr<ContentDecoder>> chain;  // in the order they are undone
  // As the connection holds a plain body until it ends, the encoded body (through its consumer,
  // this) holds the decoded one until the end: a caller that drops its Response early does not
  // lose the body's end. The decoded body holds the encoded one only weakly: no cycle.
  std::shared_ptr<internal::ResponseBody> decoded;
  std::weak_ptr<internal::ResponseBody> encoded;
  ContentDecodingLimits limits;
  std::uint64_t encodedBytes = 0;
  std::uint64_t decodedBytes = 0;
  bool over = false;  // failed or finished: nothing more is passed on

  void feed(std::size_t level, std::string_view data) {
    if (level == chain.size()) {
      emit(data);
      return;
    }
    chain[level]->decode(data, [&](std::string_view out) { feed(level + 1, out); });
  }

  void emit(std::string_view data) {
    decodedBytes += data.size();
    if (decodedBytes > limits.maxDecodedBytes) {
      throw ResponseTooLarge(absl::StrCat("decoded body over ", limits.maxDecodedBytes, " bytes"));
    }
    if (limits.maxRatio != 0 && decodedBytes > kRatioFloor &&
        decodedBytes / limits.maxRatio > encodedBytes) {
      throw ResponseTooLarge(absl::StrCat("decoded body over ", limits.maxRatio, " times its ",
                                          encodedBytes, " encoded bytes (a decompression bomb?)"));
    }
    decoded->append(data);
  }

  // A decoding failure: the decoded body fails with it, and the encoded one is not read further.
  void fail() {
    over = true;
    Failure failure = Failure::fromCurrentException();
    std::shared_ptr<internal::ResponseBody> body = std::move(decoded);
    if (auto source = encoded.lock(); source && source->abort) source->abort();
    body->fail(std::move(failure));
  }
};

}  // namespace

std::unique_ptr<ContentDecoder> makeContentDecoder(std::string_view coding) {
  const std::string name = absl::AsciiStrToLower(std::string(coding));
  if (name == "gzip" || name == "x-gzip") return std::make_unique<ZlibDecoder>(false);
  if (name == "deflate") return std::make_unique<ZlibDecoder>(true);
  if (name == "br") return std::make_unique<BrotliDecoder>();
  if (name == "zstd") return std::make_unique<ZstdDecoder>();
  return nullptr;
}

Response decodeContent(Response encoded, ContentDecodingLimits limits) {
  const std::optional<std::string_view> header = encoded.headers().get("Content-Encoding");
  if (!header) return encoded;
  // "gzip, br": br was applied last, so it is undone first.
  std::vector<std::string> codings;
  for (std::string_view rest = *header; !rest.empty();) {
    const std::size_t comma = rest.find(',');
    std::string coding(absl::StripAsciiWhitespace(std::string(rest.substr(0, comma))));
    if (!coding.empty() && !http::equalsIgnoreCase(coding, "identity")) codings.push_back(coding);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  auto decoding = std::make_shared<Decoding>();
  // No body (HEAD, 204, 304): nothing to decode, whatever the header says.
  const int status = encoded.code();
  if (encoded.request().method == "HEAD" || status == 204 || status == 304 || status < 200) return encoded;
  // A head can name thousands of codings; each would cost a decoder (curl stops at 5).
  const bool tooMany = codings.size() > kMaxCodings;
  for (auto it = codings.rbegin(); it != codings.rend() && !tooMany; ++it) {
    std::unique_ptr<ContentDecoder> decoder = makeContentDecoder(*it);
    if (!decoder) return encoded;  // unknown: passed on as it is
    decoding->chain.push_back(std::move(decoder));
  }
  if (decoding->chain.empty() && !tooMany) return encoded;
  decoding->limits = limits;

  internal::ResponseBody& source = encoded.body();
  auto decoded = std::make_shared<internal::ResponseBody>();
  decoded->copyExchangeFrom(source);
  decoded->head.headers.remove("Content-Encoding");
  decoded->head.headers.remove("Content-Length");
  // The decoded body's controls act on the encoded one, while it lasts.
  std::weak_ptr<internal::ResponseBody> weakSource = encoded.sharedBody();
  decoded->abort = [weakSource] {
    if (auto body = weakSource.lock(); body && body->abort) body->abort();
  };
  decoded->pause = [weakSource](bool paused) {
    if (auto body = weakSource.lock(); body && body->pause) body->pause(paused);
  };
  decoding->decoded = decoded;
  decoding->encoded = weakSource;
  if (tooMany) {
    try {
      throw DecodingError(absl::StrCat("more than ", kMaxCodings, " content codings"));
    } catch (...) {
      decoding->fail();
    }
    return Response(decoded);
  }
  encoded.deliverBody(BodyConsumer{
      .dataReceived =
          [decoding](std::string_view data) {
            if (decoding->over) return;
            decoding->encodedBytes += data.size();
            try {
              decoding->feed(0, data);
            } catch (...) {
              decoding->fail();
            }
          },
      .connectionLost =
          [decoding](std::optional<Failure> reason) {
            if (decoding->over) return;
            decoding->over = true;
            std::shared_ptr<internal::ResponseBody> body = std::move(decoding->decoded);
            if (reason) {
              body->fail(std::move(*reason));
              return;
            }
            try {
              // An empty body (a server that declared a coding and sent nothing) is empty.
              if (decoding->encodedBytes > 0) {
                for (auto& decoder : decoding->chain) decoder->finish();
              }
            } catch (...) {
              body->fail(Failure::fromCurrentException());
              return;
            }
            body->finish();
          },
  });
  return Response(decoded);
}

}  // namespace deft::web
