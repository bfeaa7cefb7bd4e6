// Argument re-checks at the native boundary. The TypeScript layer validates everything first;
// these checks exist so that a wrong call can never read or write out of bounds, and they throw
// TypeError/RangeError into JS instead of aborting the process.
#ifndef CRYPTOTENSORS_ARGS_H_
#define CRYPTOTENSORS_ARGS_H_

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "addon-data.h"
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

// The bytes behind an ArrayBuffer, a TypedArray or a DataView (nullptr/0 if detached), read from
// the engine's own record of the view, never through JS getters a subclass could override.
// Views over a SharedArrayBuffer are accepted: the pointer comes from the view itself (asking
// for the info of its buffer as an ArrayBuffer would fail). `buffer` receives the backing buffer.
inline bool ViewBytes(Napi::Env env, Napi::Value value, uint8_t** data, size_t* length,
                      napi_value* buffer = nullptr) {
  napi_value backing = nullptr;
  void* bytes = nullptr;
  if (value.IsTypedArray()) {
    auto array = value.As<Napi::TypedArray>();
    napi_typedarray_type type;
    size_t elements = 0, offset = 0;
    NAPI_THROW_IF_FAILED(
        env, napi_get_typedarray_info(env, value, &type, &elements, &bytes, &backing, &offset),
        false);
    *length = array.ByteLength();
  } else if (value.IsDataView()) {
    size_t offset = 0;
    NAPI_THROW_IF_FAILED(env, napi_get_dataview_info(env, value, length, &bytes, &backing, &offset),
                         false);
  } else if (value.IsArrayBuffer()) {
    backing = value;
    NAPI_THROW_IF_FAILED(env, napi_get_arraybuffer_info(env, value, &bytes, length), false);
  } else {
    return false;
  }
  *data = static_cast<uint8_t*>(bytes);
  if (*data == nullptr) *length = 0;  // detached
  if (buffer != nullptr) *buffer = backing;
  return true;
}

inline bool ViewBytes(Napi::Value value, uint8_t** data, size_t* length) {
  return ViewBytes(value.Env(), value, data, length);
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

// Bytes a synchronous call writes (its results): as ArgBytes, but writable.
struct OutputView {
  uint8_t* data = nullptr;
  size_t length = 0;
};

inline OutputView ArgOutput(const Napi::CallbackInfo& info, size_t index, const char* name) {
  OutputView view;
  if (!ViewBytes(info[index], &view.data, &view.length)) {
    throw Napi::TypeError::New(info.Env(),
                               ArgMessage(name, "must be an ArrayBuffer or a TypedArray"));
  }
  return view;
}

// A destination of at least `needed` bytes, referenced for the lifetime of the worker.
inline Destination ArgDestination(Napi::Env env, Napi::Value value, const char* name,
                                  uint64_t needed) {
  Destination dest;
  napi_value backing = nullptr;
  if (!ViewBytes(env, value, &dest.data, &dest.length, &backing)) {
    throw Napi::TypeError::New(env, ArgMessage(name, "must be an ArrayBuffer or a TypedArray"));
  }
  // A resizable ArrayBuffer could shrink (and release its pages) while native threads write into
  // it. (A growable SharedArrayBuffer only grows; a plain one cannot change size.)
  const Napi::FunctionReference& resizable = GetAddonData(env).resizableGetter;
  Napi::Value backingValue(env, backing);
  if (backing != nullptr && backingValue.IsArrayBuffer() && !resizable.IsEmpty() &&
      resizable.Call(backingValue, {}).ToBoolean().Value()) {
    throw Napi::TypeError::New(
        env, ArgMessage(name,
                        "must not be backed by a resizable ArrayBuffer (it could shrink "
                        "during the read)"));
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
