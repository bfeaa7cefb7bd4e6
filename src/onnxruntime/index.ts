// cryptotensors/onnxruntime: encrypted ONNX models for onnxruntime-node (an optional peer dependency).
export {
  encryptOnnx,
  type EncryptOnnxOptions,
  type EncryptOnnxResult,
} from "./encrypt-onnx.js";
export {
  createInferenceSession,
  type CreateSessionOptions,
  type OrtModule,
} from "./session.js";
export { decryptOnnx, type DecryptOnnxResult } from "./decrypt-onnx.js";
export { locateModel, type EncryptedModelPaths } from "./unlock-model.js";
export { EXTERNAL_LOCATION, GRAPH_FILE, WEIGHTS_FILE } from "./layout.js";
