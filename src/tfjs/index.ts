// cryptotensors/tfjs: CryptoTensors weights for TensorFlow.js (tf.io.fromMemory / tf.io.decodeWeights).
export {
  toTfjsWeights,
  type TfjsWeights,
  type TfjsWeightSpec,
  type ToTfjsOptions,
} from "./weights.js";
export { bfloat16ToFloat, halfToFloat } from "./convert.js";
