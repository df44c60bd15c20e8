import { createRequire } from 'node:module';
import type { onnx as OnnxNamespace } from 'onnx-proto';

// onnx-proto is a CommonJS protobufjs bundle: its namespace is `module.exports.onnx`.
const { onnx } = createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxNamespace };

export type AttributeValue = number | number[] | string;

/** A dimension of a graph input or output: a fixed size or a named symbolic one. */
export type Dim = number | string;

/** ONNX operator set the graphs target (Clip with tensor bounds needs >= 11). */
export const ONNX_OPSET = 13;

/**
 * Builds one ONNX graph: float32 initializers, nodes, one input and outputs, all float32. Just
 * what Loupe's converters need (no other dtypes, no subgraphs); `encode` gives the model bytes
 * onnxruntime loads.
 */
export class OnnxGraphBuilder {
  private readonly nodes: OnnxNamespace.INodeProto[] = [];
  private readonly initializers: OnnxNamespace.ITensorProto[] = [];
  private readonly inputs: OnnxNamespace.IValueInfoProto[] = [];
  private readonly outputs: OnnxNamespace.IValueInfoProto[] = [];
  private readonly names = new Set<string>();

  constructor(private readonly graphName: string) {}

  /** A float32 constant (weights, biases, scalars); returns its name. */
  initializer(name: string, dims: number[], data: Float32Array): string {
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`initializer ${name}: ${data.length} values for dims [${dims}]`);
    this.claim(name);
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw });
    return name;
  }

  input(name: string, dims: Dim[]): string {
    this.claim(name);
    this.inputs.push(valueInfo(name, dims));
    return name;
  }

  output(name: string, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, dims));
  }

  /** Adds a node whose single output is named `output`; returns that name. */
  node(op: string, inputs: string[], output: string, attributes: Record<string, AttributeValue> = {}): string {
    this.claim(output);
    this.nodes.push({
      opType: op,
      name: output,
      input: inputs,
      output: [output],
      attribute: Object.entries(attributes).map(([name, v]) => attribute(name, v)),
    });
    return output;
  }

  encode(producer: string): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 7,
      producerName: producer,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      graph: { name: this.graphName, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`onnx graph: name ${name} used twice`);
    this.names.add(name);
  }
}

function valueInfo(name: string, dims: Dim[]): OnnxNamespace.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, v: AttributeValue): OnnxNamespace.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if (Number.isInteger(v)) return { name, type: T.INT, i: v };
  return { name, type: T.FLOAT, f: v };
}
