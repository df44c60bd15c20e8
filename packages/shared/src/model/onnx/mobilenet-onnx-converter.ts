import { dequantizeWeights, type GraphAttr, type GraphNode, type NsfwjsBundle } from '../backbone/nsfwjs-bundle.ts';
import { OnnxGraphBuilder } from './onnx-graph-builder.ts';

/**
 * Bumped whenever the converter's output changes: cached ONNX files are keyed by it (and by the
 * nsfwjs version), so a changed converter never serves a stale file.
 */
export const CONVERTER_VERSION = 1;

/** Names of the converted graph's input ([N, H, W, 3] floats in [0, 1]) and output ([N, H/32, W/32, C]). */
export const ONNX_INPUT = 'image';
export const ONNX_FEATURE_MAP = 'feature_map';

/**
 * Converts the TF.js graph of nsfwjs' MobileNetV2 into an ONNX model that computes the feature
 * map `outputNode` (the last conv block) for any input height and width. Only the ops that graph
 * uses up to that node are translated: fused Conv2D (+ BiasAdd, + Relu6), fused depthwise conv,
 * AddV2, Mul, Sub; anything else fails the conversion, so a changed graph is caught here rather
 * than producing wrong codes. Tensors are NCHW inside (ONNX's layout), NHWC at both ends (TF's,
 * which the pooling code reads).
 */
export function convertMobileNetToOnnx(bundle: NsfwjsBundle, outputNode: string): Uint8Array {
  const weights = dequantizeWeights(bundle);
  const byName = new Map(bundle.topology.node.map((n) => [n.name, n]));
  const g = new OnnxGraphBuilder('mobilenet_v2_feature_map');
  const converted = new Map<string, string>();

  const weight = (name: string): NamedWeight => {
    const w = weights.get(name);
    if (!w) throw new Error(`convert: constant ${name} has no weights`);
    return { name, ...w };
  };
  const constant = (name: string): string => {
    const w = weight(name);
    return g.initializer(name, w.shape, w.data);
  };

  const visit = (name: string): string => {
    const done = converted.get(name);
    if (done) return done;
    const node = byName.get(name);
    if (!node) throw new Error(`convert: node ${name} not in the graph`);
    const ins = (node.input ?? []).filter((i) => !i.startsWith('^')).map((i) => i.split(':')[0]);
    const operand = (i: number) => (byName.get(ins[i])?.op === 'Const' ? constant(ins[i]) : visit(ins[i]));
    let out: string;
    switch (node.op) {
      case 'Placeholder':
        g.input(ONNX_INPUT, ['batch', 'height', 'width', 3]);
        out = g.node('Transpose', [ONNX_INPUT], 'image_nchw', { perm: [0, 3, 1, 2] });
        break;
      case 'Mul':
      case 'Sub':
      case 'AddV2':
        out = g.node(node.op === 'AddV2' ? 'Add' : node.op, [operand(0), operand(1)], name);
        break;
      case '_FusedConv2D':
      case 'FusedDepthwiseConv2dNative':
        out = convolution(g, node, visit(ins[0]), weight(ins[1]), weight(ins[2]));
        break;
      default:
        throw new Error(`convert: op ${node.op} (${name}) is not supported`);
    }
    converted.set(name, out);
    return out;
  };

  const map = visit(outputNode);
  g.node('Transpose', [map], ONNX_FEATURE_MAP, { perm: [0, 2, 3, 1] });
  g.output(ONNX_FEATURE_MAP, ['batch', 'map_height', 'map_width', 'channels']);
  return g.encode('loupe mobilenet converter');
}

interface NamedWeight {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** A TF fused (depthwise) convolution as ONNX Conv [+ Clip(0, 6)], weights moved to OIHW. */
function convolution(g: OnnxGraphBuilder, node: GraphNode, input: string, filter: NamedWeight, bias: NamedWeight): string {
  const attr = node.attr ?? {};
  const fused = (attr.fused_ops?.list?.s ?? []).map(text);
  const depthwise = node.op === 'FusedDepthwiseConv2dNative';
  if (fused[0] !== 'BiasAdd' || fused.length > 2 || (fused[1] && fused[1] !== 'Relu6')) throw new Error(`convert: ${node.name} fuses ${fused.join('+')}`);
  if (text(attr.data_format?.s) !== 'NHWC') throw new Error(`convert: ${node.name} is not NHWC`);
  const strides = ints(attr.strides);
  const dilations = ints(attr.dilations);
  if (strides[0] !== 1 || strides[3] !== 1 || dilations.some((d) => d !== 1)) throw new Error(`convert: ${node.name}: strides ${strides}, dilations ${dilations}`);
  const padding = text(attr.padding?.s);
  if (padding !== 'SAME' && padding !== 'VALID') throw new Error(`convert: ${node.name}: padding ${padding}`);

  const [kh, kw, inC, outPerIn] = filter.shape;
  const outC = depthwise ? inC * outPerIn : outPerIn;
  // TF: [kh, kw, in, out] (depthwise: [kh, kw, in, multiplier]); ONNX: [out, in / group, kh, kw].
  const oihw = new Float32Array(filter.data.length);
  const inPerGroup = depthwise ? 1 : inC;
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < inC; i++)
        for (let o = 0; o < outPerIn; o++) {
          const src = ((y * kw + x) * inC + i) * outPerIn + o;
          const oc = depthwise ? i * outPerIn + o : o;
          const ic = depthwise ? 0 : i;
          oihw[((oc * inPerGroup + ic) * kh + y) * kw + x] = filter.data[src];
        }
  const w = g.initializer(filter.name, [outC, inPerGroup, kh, kw], oihw);
  const b = g.initializer(bias.name, [outC], bias.data);
  const conv = g.node('Conv', [input, w, b], fused[1] ? `${node.name}/conv` : node.name, {
    kernel_shape: [kh, kw],
    strides: [strides[1], strides[2]],
    // TF's SAME puts the odd pixel of padding after the input, as ONNX's SAME_UPPER does.
    auto_pad: padding === 'SAME' ? 'SAME_UPPER' : 'VALID',
    group: depthwise ? inC : 1,
  });
  if (!fused[1]) return conv;
  const zero = g.initializer(`${node.name}/relu6_min`, [], new Float32Array([0]));
  const six = g.initializer(`${node.name}/relu6_max`, [], new Float32Array([6]));
  return g.node('Clip', [conv, zero, six], node.name);
}

function ints(a: GraphAttr | undefined): number[] {
  return (a?.list?.i ?? []).map(Number);
}

/** TF.js stores string attributes base64-encoded. */
function text(s: string | undefined): string {
  return s === undefined ? '' : Buffer.from(s, 'base64').toString('utf8');
}
