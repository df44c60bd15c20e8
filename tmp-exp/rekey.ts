// one-off: rename cached query descriptors from the old key (with descriptor) to the new one
import { renameSync, existsSync } from 'node:fs';
import { createLogger, loadHashModel } from '@loupe/shared';
import { DescriptorCache } from '../packages/eval/src/copy-detection/descriptor-cache.ts';
import { loadPhotoSet, datasetsDir } from '../packages/eval/src/copy-detection/photo-set.ts';
import { buildQuerySet, QUERY_SET_VERSION } from '../packages/eval/src/copy-detection/query-set.ts';
import { COPY_TRANSFORMS } from '../packages/eval/src/copy-detection/copy-transforms.ts';
const model = await loadHashModel('builtin:mobilenetv2-rp256-dct', { logger: createLogger('x', 'silent') });
const set = await loadPhotoSet(datasetsDir() + '/photos');
const queries = await buildQuerySet(set, COPY_TRANSFORMS);
const photoIds = set.photos.map((p) => `${p.name}:${p.bytes.length}`);
const ls = model.descriptor.levelSides.filter((_, l) => !model.isDctLevel(l));
const oldCommon = { backbone: model.backbone, descriptor: { ...model.descriptor, levelSides: ls }, dim: model.extractor.dim };
const queryKey = { backbone: model.backbone, pooling: model.descriptor.pooling, grid: model.descriptor.grid ?? 1, dim: model.extractor.dim };
const cache = new DescriptorCache(datasetsDir() + '/cache/copy-detection');
for (const view of model.queryPlan.views.filter((v) => v.kind !== 'dct')) {
  const spec = { side: view.side, orientation: view.orientation, ...(view.trim ? { trim: true } : {}) };
  const name = `queries-${view.side}-${view.orientation}${view.trim ? '-trim' : ''}`;
  const from = cache.file(name, DescriptorCache.key({ ...oldCommon, spec, version: QUERY_SET_VERSION, photos: photoIds, n: queries.length }));
  const to = cache.file(name, DescriptorCache.key({ ...queryKey, spec, version: QUERY_SET_VERSION, photos: photoIds, n: queries.length }));
  console.log(existsSync(from), from, '->', to);
  if (existsSync(from)) renameSync(from, to);
}
