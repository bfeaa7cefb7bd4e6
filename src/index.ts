// The public API of cryptotensors: a plain list of exports.
export { CryptoTensorsError, NotSupportedError, ERROR_CODES, type ErrorCode } from "./errors.js";
export {
  openFile,
  loadFile,
  verifyFile,
  type OpenOptions,
  type LoadOptions,
  type VerifyResult,
  type VerifyOptions,
} from "./reader/open-file.js";
export type { DataCheck } from "./reader/verify-data.js";
export { inspectFile, type FileDescription } from "./reader/inspect-file.js";
export {
  TensorFile,
  type Tensor,
  type TensorInfo,
  type EncryptionInfo,
  type GetTensorOptions,
  type ReadAllOptions,
} from "./reader/tensor-file.js";
export type { SliceRange } from "./reader/slice.js";
export type { Destination } from "./reader/destination.js";
export type { KeysOption } from "./reader/key-lookup.js";
export {
  saveFile,
  convertFile,
  type SaveOptions,
  type ConvertOptions,
  type TensorInput,
} from "./writer/save-file.js";
export type { EncryptionOptions } from "./writer/seal-plan.js";
export type { Progress } from "./writer/write-model.js";
export { DTYPES, dtypeBits, type Dtype } from "./format/dtype.js";
export { HEADER_LIMITS, MAX_HEADER_SIZE } from "./format/header.js";
export type { PathInput } from "./format/file-path.js";
export {
  tensorView,
  toFloat32,
  type TensorBytes,
  type TypedArrayByDtype,
  type ViewableDtype,
} from "./format/typed-view.js";
export { parseJwk, MasterKey, SigningKey } from "./keys/jwk.js";
export type {
  Jwk,
  JwkFields,
  JwkSet,
  KeyInput,
  MasterKeyInput,
  SigningKeyInput,
} from "./keys/jwk-types.js";
export { parseKeySet, generateKeySet, keyRingFromEnv, KeyRing } from "./keys/keyring.js";
export {
  allocateArena,
  setArenaReuse,
  nativeInfo,
  backendName,
  setAesEngine,
  type AesEngineName,
  type NativeInfo,
  type BackendChoice,
} from "./native/index.js";
export type {
  ByteSource,
  SourceIdentity,
  SourcePiece,
  SourcePiecesOptions,
  SourceReadOptions,
} from "./source/byte-source.js";
export { openHttpSource, isRemoteUrl } from "./source/remote-url.js";
export type {
  HttpSource,
  RemoteHeaders,
  RemoteOptions,
  RemoteStats,
} from "./source/http-source.js";
export type { RemoteCacheOptions } from "./source/chunk-cache.js";
export {
  EmbeddedPolicyEvaluator,
  OpaServerEvaluator,
  buildPolicyInput,
  validatePolicy,
  type PolicyEvaluator,
  type PolicyInput,
} from "./policy/index.js";
export { generateKeys } from "./keys/generate.js";
export { toJwk } from "./keys/jwk.js";
export {
  DirectKeyProvider,
  DIRECT_PRIORITY,
  type KeyProvider,
  type KeyRequest,
  type DataKeyRequest,
  type DataKeyFile,
  type ProvidedKey,
} from "./keys/provider.js";
export { HeldKey, type HeldKeyLabels } from "./keys/held-key.js";
export { Pkcs11KeyProvider, type Pkcs11ProviderOptions } from "./keys/pkcs11/provider.js";
export { parsePkcs11Uri, type Pkcs11Uri } from "./keys/pkcs11/uri.js";
export {
  KmipKeyProvider,
  parseKmipUri,
  type KmipProviderOptions,
} from "./keys/kmip/provider.js";
export { KmipKeyReleaseProvider } from "./keys/kmip/release-provider.js";
export {
  generatePkcs11Keys,
  type Pkcs11KeygenOptions,
  type Pkcs11Keys,
} from "./keys/pkcs11/keygen.js";
export type { WrappedDataKey } from "./crypto/envelope.js";
export {
  FileKeyProvider,
  jkuPath,
  DEFAULT_MAX_KEY_FILE_BYTES,
  type FileKeyProviderOptions,
} from "./keys/file-provider.js";
export { EnvKeyProvider } from "./keys/env-provider.js";
export {
  KeyProviderRegistry,
  defaultKeyRegistry,
  registerKeyProvider,
  unregisterKeyProvider,
  enableKeyProvider,
  disableKeyProvider,
  type KeyKind,
  type ResolvedKey,
  type ProviderStatus,
} from "./keys/registry.js";
export type { KeyTrustOptions } from "./reader/key-lookup.js";
export {
  rewrapFile,
  type RewrapOptions,
  type RewrapResult,
  type RewrapMethod,
} from "./rewrap/rewrap-file.js";
export { recoverRewrap, type RecoveryOutcome } from "./rewrap/journal.js";
export {
  reencryptFile,
  type ReencryptOptions,
  type ReencryptResult,
} from "./rewrap/reencrypt-file.js";
export { reencryptModel, type ReencryptModelOptions } from "./rewrap/reencrypt-model.js";
export type { PolicyUpdate } from "./rewrap/rewrap-header.js";
export {
  openModel,
  loadModel,
  verifyModel,
  inspectModel,
  type OpenModelOptions,
  type LoadModelOptions,
  type ModelVerifyResult,
  type ModelDescription,
} from "./model/open-model.js";
export { Model, type ModelTensorInfo } from "./model/model.js";
export type { ModelBinding, BindingCheckOptions } from "./model/binding.js";
export { saveModel, DEFAULT_MAX_SHARD_SIZE, type SaveModelOptions } from "./model/save-model.js";
export {
  convertModel,
  rewrapModel,
  type ConvertModelOptions,
  type ConvertModelResult,
  type RewrapModelResult,
} from "./model/convert-model.js";
export {
  issueLicence,
  verifyLicence,
  headerDigest,
  type IssueLicenceOptions,
  type VerifyLicenceOptions,
  type VerifiedLicence,
  type LicenceModel,
} from "./licence/licence-token.js";
export {
  RemoteKeyProvider,
  type RemoteKeyProviderOptions,
} from "./release/remote-key-provider.js";
export {
  startKeyServer,
  type KeyServer,
  type KeyServerOptions,
} from "./release/key-server.js";
export {
  KeyRelease,
  type KeyReleaseOptions,
  type AuditEntry,
  type RevocationList,
} from "./release/key-release.js";
export type { RateLimit } from "./release/rate-limit.js";
