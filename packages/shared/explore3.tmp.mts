import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path'; import fs from 'node:fs';
import sharp from 'sharp';
import { toCanonical, decodeCanonical, planViews, DEFAULT_VIEW_PLAN } from './src/index.ts';
const require = createRequire(import.meta.url);
setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/');
await tf.setBackend('wasm'); await tf.ready();
const { MobileNetV2MidModel } = await import('nsfwjs/models/mobilenet_v2_mid');
const mj: any = (await MobileNetV2MidModel.modelJson()).default;
const bundles = await Promise.all(MobileNetV2MidModel.weightBundles.map(f => f()));
const w = Buffer.concat(bundles.map(b => Buffer.from(b.default, 'base64')));
const ab = w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength);
const P = 'StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/StatefulPartitionedCall/StatefulPartitionedCall/predict/';
const POOL = P + 'feature_vector/SpatialSqueeze', FMAP = P + 'MobilenetV2/Conv_1/Relu6';
const topo = JSON.parse(JSON.stringify(mj.modelTopology));
topo.node.find((n:any)=>n.name==='input').attr.shape.shape.dim = [{size:'-1'},{size:'-1'},{size:'-1'},{size:'3'}];
const m = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: topo, format: mj.format, weightSpecs: mj.weightsManifest.flatMap((m:any)=>m.weights), weightData: ab }));
const dir = '/root/.cache/loupe-datasets/photos';
const files = fs.readdirSync(dir).filter(f=>/\.(jpe?g|png)$/i.test(f)).slice(0, 16);
const rasters = [] as {t: tf.Tensor4D}[];
for (const f of files) { const c = await toCanonical(sharp(path.join(dir,f)).rotate().flatten({background:'#fff'}).toColourspace('srgb')); const r = await decodeCanonical(c); rasters.push({ t: tf.tidy(()=>tf.tensor4d(r.data, [1,448,448,3], 'int32').toFloat().div(255)) as tf.Tensor4D }); }
// batch determinism
const x1 = tf.avgPool(rasters[0].t, 2, 2, 'valid');
const xb = tf.concat(rasters.slice(0,4).map(r=>tf.avgPool(r.t,2,2,'valid')));
const a = (m.execute(x1, FMAP) as tf.Tensor).dataSync(); const b = (m.execute(xb, FMAP) as tf.Tensor).dataSync();
let eq = true, md = 0; for (let i=0;i<a.length;i++){ if (a[i]!==b[i]) eq=false; md=Math.max(md,Math.abs(a[i]-b[i])); } console.log('batch1 vs batch4 identical:', eq, 'maxdiff', md);
const a2 = (m.execute(x1, FMAP) as tf.Tensor).dataSync(); let eq2=true; for (let i=0;i<a.length;i++) if (a[i]!==a2[i]) eq2=false; console.log('repeat identical', eq2);
// timings per side
for (const side of [224, 288, 336, 448]) { const x = tf.image.resizeBilinear(rasters[0].t, [side, side], false, true); const t=performance.now(); for (let i=0;i<4;i++){ const r = m.execute(x,FMAP) as tf.Tensor; r.dataSync(); r.dispose(); } console.log(side, 'ms', ((performance.now()-t)/4).toFixed(1), (m.execute(x,FMAP) as tf.Tensor).shape); }
const xb8 = tf.concat(rasters.slice(0,8).map(r=>tf.avgPool(r.t,2,2,'valid'))); let t=performance.now(); (m.execute(xb8,FMAP) as tf.Tensor).dataSync(); console.log('batch8 224 ms/img', (performance.now()-t)/8);
// pooling agreement: region descriptor from fmap at side S vs per-crop global (avg pooled at 224)
const norm = (v: Float32Array) => { let s=0; for (const x of v) s+=x*x; s=Math.sqrt(s)||1; return v.map(x=>x/s); };
const cos = (a: Float32Array, b: Float32Array) => { const A=norm(a),B=norm(b); let s=0; for (let i=0;i<A.length;i++) s+=A[i]*B[i]; return s; };
function pool(f: Float32Array, S: number, C: number, box: {x:number,y:number,w:number,h:number}, kind: string) {
  const c0=Math.round(box.x*S), c1=Math.max(c0+1,Math.round((box.x+box.w)*S)), r0=Math.round(box.y*S), r1=Math.max(r0+1,Math.round((box.y+box.h)*S));
  const out = new Float32Array(C); if (kind==='max') out.fill(-Infinity); let n=0;
  for (let r=r0;r<r1;r++) for (let c=c0;c<c1;c++){ n++; const o=(r*S+c)*C; for (let k=0;k<C;k++){ const v=f[o+k]; if (kind==='max') { if (v>out[k]) out[k]=v; } else if (kind==='avg') out[k]+=v; else out[k]+=v*v*v; } }
  if (kind==='avg') for (let k=0;k<C;k++) out[k]/=n; if (kind==='gem') for (let k=0;k<C;k++) out[k]=Math.cbrt(out[k]/n);
  return out;
}
const views = planViews(DEFAULT_VIEW_PLAN, 448, 448);
const res: Record<string, number[]> = {};
for (const r of rasters) {
  const fm: Record<number, Float32Array> = {};
  for (const side of [224, 336, 448]) fm[side] = (m.execute(side===448? r.t : tf.image.resizeBilinear(r.t,[side,side],false,true), FMAP) as tf.Tensor).dataSync() as Float32Array;
  for (const v of views) { if (v.level===0) continue;
    const crop = tf.image.cropAndResize(r.t as any, [[v.box.y/448, v.box.x/448, (v.box.y+v.box.h)/448, (v.box.x+v.box.w)/448]], [0], [224,224]);
    const g = (m.execute(crop, POOL) as tf.Tensor).dataSync() as Float32Array;
    const ub = { x: v.box.x/448, y: v.box.y/448, w: v.box.w/448, h: v.box.h/448 };
    for (const side of [224, 336, 448]) for (const kind of ['avg','max','gem']) { const S = Math.ceil(side/32); const k = `L${v.level} ${side} ${kind}`; (res[k] ??= []).push(cos(pool(fm[side], S, 1792, ub, kind), g)); }
  }
  // unrelated baseline
}
for (const [k, v] of Object.entries(res)) console.log(k, (v.reduce((a,b)=>a+b,0)/v.length).toFixed(4));
