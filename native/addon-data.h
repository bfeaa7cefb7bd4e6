// Per-environment state of the addon (main thread and each worker_thread load their own): the
// file-handle constructor and the intrinsics the argument checks rely on, captured when the
// addon loads so that later changes to prototypes by user code cannot change what they see.
#ifndef CRYPTOTENSORS_ADDON_DATA_H_
#define CRYPTOTENSORS_ADDON_DATA_H_

#include <napi.h>

namespace ct {

struct AddonData {
  Napi::FunctionReference handleConstructor;
  // The getter of ArrayBuffer.prototype.resizable (empty on engines without resizable buffers).
  Napi::FunctionReference resizableGetter;
};

inline AddonData& GetAddonData(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace ct

#endif  // CRYPTOTENSORS_ADDON_DATA_H_
