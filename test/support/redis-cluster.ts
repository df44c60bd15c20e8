import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { startRedis, type TestRedis } from './redis-server.ts';

const run = promisify(execFile);

export interface TestRedisCluster {
  nodes: TestRedis[];
  /** "host:port,..." as REDIS_CLUSTER_NODES takes it. */
  nodeList: string;
  stop(): Promise<void>;
}

/**
 * A real Redis Cluster of `masters` redis-server processes on free ports (no replicas), created
 * with `redis-cli --cluster create`; resolves once every node reports cluster_state:ok.
 */
export async function startRedisCluster(masters = 3): Promise<TestRedisCluster> {
  const nodes = await Promise.all(
    Array.from({ length: masters }, () => startRedis(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'])),
  );
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    const addrs = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addrs, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    for (const n of nodes) {
      const probe = new Redis(n.url);
      try {
        for (let i = 0; ; i++) {
          const info = String(await probe.cluster('INFO'));
          if (/cluster_state:ok/.test(info) && /cluster_known_nodes:(\d+)/.exec(info)?.[1] === String(masters)) break;
          if (i > 200) throw new Error(`cluster node ${n.port} not ok: ${info.split('\n')[0]}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        probe.disconnect();
      }
    }
    return { nodes, nodeList: addrs.join(','), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
