// The public API of cryptotensors: a plain list of exports.
export { CryptoTensorsError, NotSupportedError, ERROR_CODES, type ErrorCode } from "./errors.js";
export { openFile, loadFile, verifyFile, type OpenOptions, type LoadOptions, type VerifyResult } from "./reader/open-file.js";
export { inspectFile, type FileDescription } from "./reader/inspect-file.js";
export { TensorFile, type Tensor, type TensorInfo, type EncryptionInfo, type GetTensorOptions } from "./reader/tensor-file.js";
export type { SliceRange } from "./reader/slice.js";
export type { Destination } from "./reader/destination.js";
export type { KeysOption } from "./reader/key-lookup.js";
export { saveFile, convertFile, type SaveOptions, type ConvertOptions, type TensorInput } from "./writer/save-file.js";
export type { EncryptionOptions } from "./writer/seal-plan.js";
export type { Progress } from "./writer/write-model.js";
export { DTYPES, dtypeBits, type Dtype } from "./format/dtype.js";
export { parseJwk, type MasterKey, type SigningKey } from "./keys/jwk.js";
export { parseKeySet, generateKeySet, keyRingFromEnv, KeyRing } from "./keys/keyring.js";
export { nativeInfo, backendName } from "./native/index.js";
export {
  EmbeddedPolicyEvaluator,
  OpaServerEvaluator,
  buildPolicyInput,
  validatePolicy,
  type PolicyEvaluator,
  type PolicyInput,
} from "./policy/index.js";
