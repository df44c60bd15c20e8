import net from 'node:net';

/** One injected fault on a proxied connection. */
export type TcpFault = 'reset' | 'stall';

export interface TcpFaultProxy {
  /** Where clients connect instead of the target. */
  port: number;
  /** Connections open through the proxy now. */
  readonly open: number;
  /**
   * Injects `fault` on one open connection picked by `pick` (an index below `open`): `reset`
   * destroys both sides (the client sees ECONNRESET), `stall` holds every byte both ways for
   * `stallMs`. Returns false when no connection is open.
   */
  inject(fault: TcpFault, pick: (n: number) => number, stallMs?: number): boolean;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
}

/**
 * A TCP proxy in front of a server (Redis here) that can reset or stall a live connection on
 * demand: faults that the server's own restart does not produce (a half-broken network path).
 * While the target is down, new connections are refused the way the target would refuse them.
 */
export async function startTcpFaultProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpFaultProxy> {
  const pairs = new Set<Pair>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get open() {
      return pairs.size;
    },
    inject(fault, pick, stallMs = 2000) {
      const list = [...pairs];
      if (!list.length) return false;
      const { client, upstream } = list[pick(list.length)];
      if (fault === 'reset') {
        client.resetAndDestroy();
        upstream.destroy();
        return true;
      }
      client.pause();
      upstream.pause();
      setTimeout(() => {
        client.resume();
        upstream.resume();
      }, stallMs).unref();
      return true;
    },
    close: () =>
      new Promise((resolve) => {
        for (const p of pairs) {
          p.client.destroy();
          p.upstream.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
