// openMemory(size): a file handle over addon-owned memory (MappedFile memory mode) plus a JS
// ArrayBuffer of that memory, for a remote source to receive ciphertext into. Plans then run on
// the handle exactly as on a mapped local file (issue 16: decryption off the JS thread).
#ifndef CRYPTOTENSORS_MEMORY_FILE_H_
#define CRYPTOTENSORS_MEMORY_FILE_H_

#include <napi.h>

namespace ct {

// openMemory(size) -> { handle: NativeFileHandle, memory: ArrayBuffer } | status
Napi::Value OpenMemory(const Napi::CallbackInfo& info);

// adviseHugePages(view) -> undefined: asks for transparent huge pages behind a large destination
// that will be filled by many small plans (each plan advises only the destinations it is given,
// and a staged chunk is below the size from which that pays). A hint: contents are unchanged.
Napi::Value AdviseDestination(const Napi::CallbackInfo& info);

}  // namespace ct

#endif  // CRYPTOTENSORS_MEMORY_FILE_H_
