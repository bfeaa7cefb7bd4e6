// openMemory(size): a file handle over addon-owned memory (MappedFile memory mode) plus a JS
// ArrayBuffer of that memory, for a remote source to receive ciphertext into. Plans then run on
// the handle exactly as on a mapped local file (issue 16: decryption off the JS thread).
#ifndef CRYPTOTENSORS_MEMORY_FILE_H_
#define CRYPTOTENSORS_MEMORY_FILE_H_

#include <napi.h>

namespace ct {

// openMemory(size) -> { handle: NativeFileHandle, memory: ArrayBuffer } | status
Napi::Value OpenMemory(const Napi::CallbackInfo& info);

// openArenaView(view) -> NativeFileHandle | status: a handle over the bytes of `view`, which must
// lie in one live arena (else TypeError); the arena stays mapped while the handle lives. A remote
// source receives ciphertext straight into a fresh destination and decrypts it there in place
// (plans on this handle whose destination is the range they read copy nothing; no page is
// dropped, not even at close).
Napi::Value OpenArenaView(const Napi::CallbackInfo& info);

// adviseHugePages(view) -> undefined: asks for transparent huge pages behind a large destination
// that will be filled by many small plans (each plan advises only the destinations it is given,
// and a staged chunk is below the size from which that pays). A hint: contents are unchanged.
Napi::Value AdviseDestination(const Napi::CallbackInfo& info);

}  // namespace ct

#endif  // CRYPTOTENSORS_MEMORY_FILE_H_
