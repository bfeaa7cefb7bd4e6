// Where an ONNX graph keeps its weights, and how an encrypted graph points at them. Weights are
// the graph's initializers and the tensors of its Constant nodes (exporters such as paddle2onnx
// put every weight in a Constant node); each becomes one tensor of the weights file, named by the
// initializer's name or the Constant node's output, which the graph keeps unique.
import type { onnx as OnnxNamespace } from "onnx-proto";
import { NotSupportedError } from "../errors.js";
import type { Dtype } from "../format/dtype.js";
import { dtypeOfOnnx, onnxError } from "./initializers.js";
import { EXTERNAL_LOCATION, INLINE_MAX_BYTES, type BlobSlot } from "./layout.js";
import {
  int64ToNumber,
  onnx,
  type GraphProto,
  type ModelProto,
  type TensorProto,
} from "./onnx-proto.js";

/** A weight of the main graph: its tensor, and how to put another tensor in its place. */
export interface WeightSite {
  /** Tensor name in the weights file. */
  name: string;
  tensor: TensorProto;
  replace(tensor: OnnxNamespace.ITensorProto): void;
}

/**
 * The main graph, once it is known that every weight can be moved out of it: sparse initializers,
 * initializers inside subgraphs (If/Loop/Scan bodies) and Constant tensors of more than
 * {@link INLINE_MAX_BYTES} inside subgraphs are refused, since leaving them in the clear would
 * silently do less than asked.
 */
export function checkGraphShape(model: ModelProto, label: string): GraphProto {
  const graph = model.graph;
  if (!graph) throw onnxError(`${label} has no graph`);
  if ((graph.sparseInitializer ?? []).length > 0)
    throw new NotSupportedError(`${label} has sparse initializers, which cannot be converted`);
  const visit = (g: GraphProto, depth: number, inSubgraph: boolean) => {
    for (const node of g.node ?? []) {
      for (const attribute of node.attribute ?? []) {
        if (attribute.sparseTensor)
          throw new NotSupportedError(
            `${label}: node ${JSON.stringify(node.name)} holds a sparse tensor, which cannot be converted`,
          );
        if (inSubgraph && attribute.t && tensorBytes(attribute.t) > INLINE_MAX_BYTES)
          throw new NotSupportedError(
            `${label}: node ${JSON.stringify(node.name)} in a subgraph holds a large tensor, which cannot be converted`,
          );
        for (const sub of [...(attribute.g ? [attribute.g] : []), ...(attribute.graphs ?? [])]) {
          if ((sub.initializer ?? []).length > 0 || (sub.sparseInitializer ?? []).length > 0) {
            throw new NotSupportedError(
              `${label}: node ${JSON.stringify(node.name)} has a subgraph with its own initializers, which cannot be converted`,
            );
          }
          if (depth >= 64) throw onnxError(`${label}: subgraphs are nested more than 64 deep`);
          visit(sub, depth + 1, true);
        }
      }
    }
  };
  visit(graph, 0, false);
  return graph;
}

/** Every weight of the main graph: initializers in order, then Constant-node tensors in node order. */
export function weightSites(graph: GraphProto): WeightSite[] {
  const sites: WeightSite[] = [];
  const initializers = graph.initializer ?? [];
  initializers.forEach((tensor, i) => {
    sites.push({
      name: tensor.name ?? "",
      tensor,
      replace: (t) => {
        initializers[i] = t;
      },
    });
  });
  for (const node of graph.node ?? []) {
    if (node.opType !== "Constant" || (node.domain ?? "") !== "") continue;
    const attribute = (node.attribute ?? []).find((a) => a.name === "value" && a.t);
    if (!attribute) continue; // value_float, value_ints, ...: scalars and short lists stay in the graph
    const output = node.output?.[0];
    if (!output) throw onnxError(`Constant node ${JSON.stringify(node.name)} has no output`);
    sites.push({
      name: output,
      tensor: attribute.t as TensorProto,
      replace: (t) => {
        attribute.t = t;
      },
    });
  }
  return sites;
}

/** The graph's form of a weight that lives in the blob: no data, a pointer to `slot`. */
export function externalTensor(tensor: TensorProto, slot: BlobSlot): OnnxNamespace.ITensorProto {
  return {
    dims: tensor.dims ?? [],
    dataType: tensor.dataType ?? 0,
    ...(tensor.name ? { name: tensor.name } : {}),
    ...(tensor.docString ? { docString: tensor.docString } : {}),
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: "location", value: EXTERNAL_LOCATION },
      { key: "offset", value: String(slot.offset) },
      { key: "length", value: String(slot.length) },
    ],
  };
}

/** The graph's form of a weight carried inline: its bytes as raw_data. */
export function inlineTensor(tensor: TensorProto, bytes: Uint8Array): OnnxNamespace.ITensorProto {
  return {
    dims: tensor.dims ?? [],
    dataType: tensor.dataType ?? 0,
    ...(tensor.name ? { name: tensor.name } : {}),
    ...(tensor.docString ? { docString: tensor.docString } : {}),
    rawData: bytes,
  };
}

/** A blob pointer read back from an encrypted graph, with the dtype and shape the graph declares. */
export interface GraphSlot {
  site: WeightSite;
  name: string;
  dtype: Dtype;
  shape: number[];
  offset: number;
  length: number;
}

/** Every weight of an encrypted model's graph, as a pointer into the blob; anything else is refused. */
export function graphSlots(graph: GraphProto, label: string): GraphSlot[] {
  return weightSites(graph).map((site) => {
    const { tensor, name } = site;
    const fields = new Map((tensor.externalData ?? []).map((e) => [e.key, e.value]));
    if (
      tensor.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL ||
      fields.get("location") !== EXTERNAL_LOCATION
    ) {
      throw onnxError(
        `${label}: weight ${JSON.stringify(name)} does not point into ${EXTERNAL_LOCATION}; the graph was not made by encryptOnnx or was altered`,
      );
    }
    const offset = Number(fields.get("offset"));
    const length = Number(fields.get("length"));
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0)
      throw onnxError(`${label}: weight ${JSON.stringify(name)} has an invalid offset or length`);
    const shape = (tensor.dims ?? []).map((d) => int64ToNumber(d) ?? -1);
    return { site, name, dtype: dtypeOfOnnx(tensor.dataType ?? 0, name), shape, offset, length };
  });
}

/** Bytes an inline tensor holds (raw_data or typed fields), for size limits only. */
function tensorBytes(tensor: OnnxNamespace.ITensorProto): number {
  return (
    (tensor.rawData?.length ?? 0) +
    4 * ((tensor.floatData?.length ?? 0) + (tensor.int32Data?.length ?? 0)) +
    8 *
      ((tensor.int64Data?.length ?? 0) +
        (tensor.doubleData?.length ?? 0) +
        (tensor.uint64Data?.length ?? 0))
  );
}
