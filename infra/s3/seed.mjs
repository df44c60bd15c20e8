// Copies a local folder (default: the bundled samples/) into an S3 bucket so the compose stack
// has something to index. Idempotent: objects are overwritten with the same bytes.
// Usage: node infra/s3/seed.mjs [dir] [s3://bucket/prefix]   (S3_* / AWS_* from the environment)
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Client, PutObjectCommand, CreateBucketCommand } from '@aws-sdk/client-s3';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = path.resolve(process.argv[2] ?? path.join(root, 'samples'));
const target = new URL(process.argv[3] ?? process.env.LOUPE_SOURCE ?? 's3://loupe-images/');
if (target.protocol !== 's3:') throw new Error(`target must be s3://bucket/prefix, got ${target.href}`);
const bucket = target.host;
const prefix = target.pathname.replace(/^\//, '');

const s3 = new S3Client({
  endpoint: process.env.S3_ENDPOINT,
  region: process.env.S3_REGION ?? 'us-east-1',
  forcePathStyle: /^(true|1|yes)$/.test(process.env.S3_FORCE_PATH_STYLE ?? ''),
});

const types = { '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.webp': 'image/webp', '.gif': 'image/gif', '.tif': 'image/tiff', '.tiff': 'image/tiff' };
try {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
} catch (e) {
  if (!/BucketAlready(Exists|OwnedByYou)/.test(e?.name ?? '')) throw e;
}
let n = 0;
for (const name of (await readdir(dir)).sort()) {
  const type = types[path.extname(name).toLowerCase()];
  if (!type) continue;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: prefix + name, Body: await readFile(path.join(dir, name)), ContentType: type }));
  n++;
}
process.stdout.write(`seeded ${n} images from ${dir} into s3://${bucket}/${prefix}\n`);
s3.destroy();
