// cryptotensors/onnxruntime: encrypted ONNX models for onnxruntime-node (an optional peer dependency).
export {
  encryptOnnx,
  type EncryptOnnxOptions,
  type EncryptOnnxResult,
} from "./encrypt-onnx.js";
export {
  createInferenceSession,
  locateModel,
  type CreateSessionOptions,
  type EncryptedModelPaths,
  type OrtModule,
} from "./session.js";
export { EXTERNAL_LOCATION, GRAPH_FILE, WEIGHTS_FILE } from "./layout.js";
