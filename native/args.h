// Argument re-checks at the native boundary. The TypeScript layer validates everything first;
// these checks exist so that a wrong call can never read or write out of bounds, and they throw
// TypeError/RangeError into JS instead of aborting the process.
#ifndef CRYPTOTENSORS_ARGS_H_
#define CRYPTOTENSORS_ARGS_H_

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "workers.h"

namespace ct {

struct ByteView {
  const uint8_t* data = nullptr;
  size_t length = 0;
};

inline std::string ArgMessage(const char* name, const char* what) {
  return std::string(name) + " " + what;
}

// A non-negative integer no larger than Number.MAX_SAFE_INTEGER.
inline uint64_t ArgSafeInteger(const Napi::CallbackInfo& info, size_t index, const char* name) {
  Napi::Value value = info[index];
  if (!value.IsNumber())
    throw Napi::TypeError::New(info.Env(), ArgMessage(name, "must be a number"));
  double number = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(number) || std::floor(number) != number || number < 0 ||
      number > 9007199254740991.0) {
    throw Napi::RangeError::New(info.Env(),
                                ArgMessage(name, "must be a non-negative safe integer"));
  }
  return static_cast<uint64_t>(number);
}

// The bytes behind an ArrayBuffer, a TypedArray or a DataView (nullptr/0 if detached).
inline bool ViewBytes(Napi::Value value, uint8_t** data, size_t* length) {
  if (value.IsTypedArray()) {
    auto array = value.As<Napi::TypedArray>();
    *data = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
    *length = array.ByteLength();
    return true;
  }
  if (value.IsDataView()) {
    auto view = value.As<Napi::DataView>();
    *data = static_cast<uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset();
    *length = view.ByteLength();
    return true;
  }
  if (value.IsArrayBuffer()) {
    auto buffer = value.As<Napi::ArrayBuffer>();
    *data = static_cast<uint8_t*>(buffer.Data());
    *length = buffer.ByteLength();
    return true;
  }
  return false;
}

inline ByteView ArgBytes(const Napi::CallbackInfo& info, size_t index, const char* name) {
  uint8_t* data = nullptr;
  size_t length = 0;
  if (!ViewBytes(info[index], &data, &length)) {
    throw Napi::TypeError::New(info.Env(),
                               ArgMessage(name, "must be an ArrayBuffer or a TypedArray"));
  }
  return ByteView{data, length};
}

// A destination of at least `needed` bytes, referenced for the lifetime of the worker.
inline Destination ArgDestination(Napi::Env env, Napi::Value value, const char* name,
                                  uint64_t needed) {
  Destination dest;
  if (!ViewBytes(value, &dest.data, &dest.length)) {
    throw Napi::TypeError::New(env, ArgMessage(name, "must be an ArrayBuffer or a TypedArray"));
  }
  if (needed > dest.length) {
    throw Napi::RangeError::New(env, ArgMessage(name, "is smaller than the requested length"));
  }
  dest.owner = Napi::Persistent(value.As<Napi::Object>());
  return dest;
}

inline Destination ArgDestination(const Napi::CallbackInfo& info, size_t index, const char* name,
                                  uint64_t needed) {
  return ArgDestination(info.Env(), info[index], name, needed);
}

// An algorithm number of aead.h.
inline AeadAlgorithm ArgAlgorithm(Napi::Env env, uint64_t value, const char* name) {
  if (value > 2) throw Napi::RangeError::New(env, ArgMessage(name, "must be 0, 1 or 2"));
  return static_cast<AeadAlgorithm>(value);
}

}  // namespace ct

#endif  // CRYPTOTENSORS_ARGS_H_
