// JPEG decoding with libjpeg-turbo itself, set up the way Pillow 9.4 sets it up by default, so that
// the pixels equal Pillow's bit for bit when both use the same libjpeg-turbo (Debian: 2.1.5).
//
// Pillow's defaults are libjpeg's: islow IDCT, fancy upsampling, no scaling; the output colour
// space is RGB for 3-component files (YCbCr or RGB) and grayscale for 1-component ones. Pillow
// ignores libjpeg's warnings, except that its suspending data source turns "ran out of data" into
// "image file is truncated"; with a memory source libjpeg reports that as the warning
// JWRN_JPEG_EOF, which is therefore an error here. Like Pillow, decoding stops after the last
// scanline (the EOI marker and anything after it are not read).
//
// libjpeg reports errors through a callback that must not return. It longjmps back to DecodeCore,
// whose frames (and libjpeg's in between) hold only plain C data, so no destructor is skipped.
//
// Built without libjpeg (CLIP_TS_NO_JPEG, see native/find-jpeg.cjs), the functions are absent and
// the TypeScript side decodes with sharp.
#include "common.h"

#ifndef CLIP_TS_NO_JPEG

#include <climits>
#include <csetjmp>
#include <cstdio>  // jpeglib.h uses FILE and size_t without including their headers
#include <cstring>

#include <jpeglib.h>
#include <jerror.h>

namespace clipts {
namespace {

enum class Failure { None, Corrupt, Truncated, TooLarge, Unsupported };

const char* FailureCode(Failure f) {
  switch (f) {
    case Failure::Truncated: return "ERR_JPEG_TRUNCATED";
    case Failure::TooLarge: return "ERR_JPEG_TOO_LARGE";
    case Failure::Unsupported: return "ERR_JPEG_UNSUPPORTED";
    default: return "ERR_JPEG_CORRUPT";
  }
}

struct ErrorManager {
  jpeg_error_mgr pub;  // first, so that cinfo->err can be cast back
  jmp_buf jump;
  Failure failure;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void OnError(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  err->failure = Failure::Corrupt;
  std::longjmp(err->jump, 1);
}

void OnMessage(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
    auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
    std::snprintf(err->message, sizeof err->message, "image file is truncated (premature end of JPEG data)");
    err->failure = Failure::Truncated;
    std::longjmp(err->jump, 1);
  }
  // Other warnings (extraneous bytes, corrupt data segments) and trace messages: ignored, as Pillow does.
}

void OnOutput(j_common_ptr) {}  // libjpeg would print to stderr

struct Header {
  uint32_t width = 0;
  uint32_t height = 0;
  int components = 0;
  J_COLOR_SPACE colorSpace = JCS_UNKNOWN;
  bool progressive = false;
};

// The state of one decode, owned by the caller so that DecodeCore (which calls setjmp) modifies
// no local variable of its own that it reads after a longjmp.
struct Session {
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  Header header;
};

// Reads the header into s->header and, when `out` is not null, decodes into `out`, which must hold
// exactly width·height·components(outSpace) bytes for the width and height in `expect` (a header
// read earlier from the same bytes). Returns false with s->err.failure/message set.
bool DecodeCore(Session* s, const uint8_t* data, size_t size, J_COLOR_SPACE outSpace, uint8_t* out, size_t outSize,
                const Header* expect) {
  std::memset(&s->cinfo, 0, sizeof s->cinfo);
  s->err.failure = Failure::None;
  s->err.message[0] = '\0';
  s->cinfo.err = jpeg_std_error(&s->err.pub);
  s->err.pub.error_exit = OnError;
  s->err.pub.emit_message = OnMessage;
  s->err.pub.output_message = OnOutput;
  if (size > ULONG_MAX) {
    std::snprintf(s->err.message, sizeof s->err.message, "JPEG data larger than %lu bytes", ULONG_MAX);
    s->err.failure = Failure::Unsupported;
    return false;
  }
  if (setjmp(s->err.jump) != 0) {
    jpeg_destroy_decompress(&s->cinfo);
    return false;
  }
  jpeg_create_decompress(&s->cinfo);
  jpeg_mem_src(&s->cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&s->cinfo, TRUE);
  s->header.width = s->cinfo.image_width;
  s->header.height = s->cinfo.image_height;
  s->header.components = s->cinfo.num_components;
  s->header.colorSpace = s->cinfo.jpeg_color_space;
  s->header.progressive = s->cinfo.progressive_mode != 0;
  if (out == nullptr) {
    jpeg_destroy_decompress(&s->cinfo);
    return true;
  }
  if (expect == nullptr || s->header.width != expect->width || s->header.height != expect->height) {
    std::snprintf(s->err.message, sizeof s->err.message, "the JPEG data changed while it was decoded");
    s->err.failure = Failure::Corrupt;
    jpeg_destroy_decompress(&s->cinfo);
    return false;
  }
  // Pillow's settings, which are libjpeg's defaults; spelt out so that a change of default shows.
  s->cinfo.out_color_space = outSpace;
  s->cinfo.dct_method = JDCT_ISLOW;
  s->cinfo.do_fancy_upsampling = TRUE;
  s->cinfo.scale_num = 1;
  s->cinfo.scale_denom = 1;
  jpeg_start_decompress(&s->cinfo);
  const size_t stride = static_cast<size_t>(s->cinfo.output_width) * s->cinfo.output_components;
  if (s->cinfo.output_width != s->header.width || s->cinfo.output_height != s->header.height ||
      stride * s->cinfo.output_height != outSize) {
    std::snprintf(s->err.message, sizeof s->err.message, "unexpected output size %ux%ux%d",
                  s->cinfo.output_width, s->cinfo.output_height, s->cinfo.output_components);
    s->err.failure = Failure::Unsupported;
    jpeg_destroy_decompress(&s->cinfo);
    return false;
  }
  JSAMPROW rows[16];
  while (s->cinfo.output_scanline < s->cinfo.output_height) {
    JDIMENSION n = s->cinfo.output_height - s->cinfo.output_scanline;
    if (n > 16) n = 16;
    for (JDIMENSION i = 0; i < n; ++i) rows[i] = out + (s->cinfo.output_scanline + i) * stride;
    if (jpeg_read_scanlines(&s->cinfo, rows, n) == 0) {  // cannot happen with a memory source
      std::snprintf(s->err.message, sizeof s->err.message, "the decoder made no progress");
      s->err.failure = Failure::Corrupt;
      jpeg_destroy_decompress(&s->cinfo);
      return false;
    }
  }
  jpeg_destroy_decompress(&s->cinfo);  // not jpeg_finish_decompress: Pillow does not read past the pixels either
  return true;
}

const char* ColorSpaceName(J_COLOR_SPACE cs) {
  switch (cs) {
    case JCS_GRAYSCALE: return "gray";
    case JCS_RGB: return "rgb";
    case JCS_YCbCr: return "ycbcr";
    case JCS_CMYK: return "cmyk";
    case JCS_YCCK: return "ycck";
    default: return "unknown";
  }
}

Napi::Error MakeError(Napi::Env env, Failure failure, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, FailureCode(failure)));
  return e;
}

// The arguments of jpegDecode/jpegDecodeAsync: (bytes Uint8Array, outColor 'rgb'|'gray', maxPixels?).
struct DecodeArgs {
  View<uint8_t> bytes;
  J_COLOR_SPACE outSpace = JCS_RGB;
  int outComponents = 3;
  double maxPixels = 0;  // 0: no limit
};

bool GetDecodeArgs(const Napi::CallbackInfo& info, DecodeArgs* a) {
  Napi::Env env = info.Env();
  a->bytes = GetArray<uint8_t>(info, 0, "bytes");
  if (!a->bytes.ok) return false;
  std::string color = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  if (color == "rgb") {
    a->outSpace = JCS_RGB;
    a->outComponents = 3;
  } else if (color == "gray") {
    a->outSpace = JCS_GRAYSCALE;
    a->outComponents = 1;
  } else {
    ThrowType(env, "outColor must be 'rgb' or 'gray'");
    return false;
  }
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    if (!info[2].IsNumber() || !(info[2].As<Napi::Number>().DoubleValue() >= 0)) {
      ThrowType(env, "maxPixels must be a non-negative number");
      return false;
    }
    a->maxPixels = info[2].As<Napi::Number>().DoubleValue();
  }
  return true;
}

// A plain Uint8Array (not a Buffer, whose slice() would not copy) over uninitialised memory. When
// it cannot be had (Node's size limit, out of memory) the reason goes to `message`.
bool NewBytes(Napi::Env env, const Header& h, size_t n, Napi::Uint8Array* out, std::string* message) {
  Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::New(env, n);
  if (env.IsExceptionPending()) {
    Napi::Error e = env.GetAndClearPendingException();
    *message = "cannot allocate " + std::to_string(n) + " bytes for " + std::to_string(h.width) + "x" +
               std::to_string(h.height) + " pixels: " + e.Message();
    return false;
  }
  *out = Napi::Uint8Array::New(env, n, buf.ArrayBuffer(), buf.ByteOffset());
  return true;
}

// Header pass, the size checks and the output array, shared by both decode entry points. Returns
// false with `failure`/`message` describing why the bytes cannot be decoded.
bool Prepare(Napi::Env env, const DecodeArgs& a, Session* s, Napi::Uint8Array* out, Failure* failure,
             std::string* message) {
  if (!DecodeCore(s, a.bytes.data, a.bytes.length, a.outSpace, nullptr, 0, nullptr)) {
    *failure = s->err.failure;
    *message = s->err.message;
    return false;
  }
  const double pixels = static_cast<double>(s->header.width) * s->header.height;
  if (a.maxPixels > 0 && pixels > a.maxPixels) {
    *failure = Failure::TooLarge;
    *message = std::to_string(s->header.width) + "x" + std::to_string(s->header.height) + " = " +
               std::to_string(static_cast<uint64_t>(pixels)) + " pixels exceeds the limit of " +
               std::to_string(static_cast<uint64_t>(a.maxPixels));
    return false;
  }
  if (!NewBytes(env, s->header, static_cast<size_t>(pixels) * a.outComponents, out, message)) {
    *failure = Failure::TooLarge;
    return false;
  }
  return true;
}

uint8_t* BytesOf(Napi::Uint8Array a) { return static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset(); }

Napi::Value JsJpegHeader(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  View<uint8_t> bytes = GetArray<uint8_t>(info, 0, "bytes");
  if (!bytes.ok) return env.Undefined();
  Session s;
  if (!DecodeCore(&s, bytes.data, bytes.length, JCS_RGB, nullptr, 0, nullptr)) {
    MakeError(env, s.err.failure, s.err.message).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("width", Napi::Number::New(env, s.header.width));
  o.Set("height", Napi::Number::New(env, s.header.height));
  o.Set("components", Napi::Number::New(env, s.header.components));
  o.Set("colorSpace", Napi::String::New(env, ColorSpaceName(s.header.colorSpace)));
  o.Set("progressive", Napi::Boolean::New(env, s.header.progressive));
  return o;
}

Napi::Value JsJpegDecode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DecodeArgs a;
  if (!GetDecodeArgs(info, &a)) return env.Undefined();
  Session s;
  Napi::Uint8Array out;
  Failure failure = Failure::None;
  std::string message;
  if (!Prepare(env, a, &s, &out, &failure, &message)) {
    MakeError(env, failure, message).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const Header header = s.header;
  if (!DecodeCore(&s, a.bytes.data, a.bytes.length, a.outSpace, BytesOf(out), out.ByteLength(), &header)) {
    MakeError(env, s.err.failure, s.err.message).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return out;
}

// Decodes on libuv's thread pool into an output array allocated beforehand on the JavaScript
// thread; both arrays are kept alive by references until the promise settles.
class DecodeWorker : public Napi::AsyncWorker {
 public:
  DecodeWorker(Napi::Env env, const DecodeArgs& a, const Header& header, Napi::Uint8Array input, Napi::Uint8Array output)
      : Napi::AsyncWorker(env, "clipts.jpegDecode"),
        deferred_(Napi::Promise::Deferred::New(env)),
        args_(a),
        header_(header),
        input_(Napi::Persistent(input)),
        output_(Napi::Persistent(output)),
        out_(BytesOf(output)),
        outSize_(output.ByteLength()) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    if (!DecodeCore(&session_, args_.bytes.data, args_.bytes.length, args_.outSpace, out_, outSize_, &header_)) {
      failure_ = session_.err.failure;
      SetError(session_.err.message);
    }
  }
  void OnOK() override { deferred_.Resolve(output_.Value()); }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(MakeError(Env(), failure_, e.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  DecodeArgs args_;
  Header header_;
  Napi::Reference<Napi::Uint8Array> input_;
  Napi::Reference<Napi::Uint8Array> output_;
  uint8_t* out_;
  size_t outSize_;
  Session session_;
  Failure failure_ = Failure::Corrupt;
};

Napi::Value JsJpegDecodeAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DecodeArgs a;
  if (!GetDecodeArgs(info, &a)) return env.Undefined();
  Session s;
  Napi::Uint8Array out;
  Failure failure = Failure::None;
  std::string message;
  if (!Prepare(env, a, &s, &out, &failure, &message)) {
    Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
    d.Reject(MakeError(env, failure, message).Value());
    return d.Promise();
  }
  auto* worker = new DecodeWorker(env, a, s.header, info[0].As<Napi::Uint8Array>(), out);
  Napi::Promise promise = worker->Promise();
  worker->Queue();  // the worker deletes itself when done
  return promise;
}

}  // namespace

void RegisterJpeg(Napi::Env env, Napi::Object exports) {
  exports.Set("jpegHeader", Napi::Function::New(env, JsJpegHeader));
  exports.Set("jpegDecode", Napi::Function::New(env, JsJpegDecode));
  exports.Set("jpegDecodeAsync", Napi::Function::New(env, JsJpegDecodeAsync));
}

}  // namespace clipts

#else  // CLIP_TS_NO_JPEG

namespace clipts {
void RegisterJpeg(Napi::Env, Napi::Object) {}
}  // namespace clipts

#endif
