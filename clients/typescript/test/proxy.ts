// A TCP proxy that plays a network that fails (cut, frozen, no WebSockets),
// for this suite and the web page's browser test.
import net from 'node:net';

/**
 * A TCP proxy in front of `target` (`http://host:port`). `cut()` breaks
 * every connection and refuses new ones until `restore()`; `freeze()`
 * stops the bytes of the open connections without closing them (a dead
 * link); `refuseWebSockets` closes connections that ask for an upgrade.
 */
export class FlakyProxy {
  private readonly server: net.Server;
  private readonly links = new Set<{ client: net.Socket; upstream: net.Socket; frozen: boolean }>();
  private down = false;
  refuseWebSockets = false;
  /** Connections that asked for a WebSocket upgrade. */
  upgradesSeen = 0;
  port = 0;

  private constructor(private readonly target: URL) {
    this.server = net.createServer((client) => this.accept(client));
  }

  static async start(target: string): Promise<FlakyProxy> {
    const proxy = new FlakyProxy(new URL(target));
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.server.address() as net.AddressInfo).port;
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private accept(client: net.Socket): void {
    if (this.down) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(this.target.port), this.target.hostname);
    const link = { client, upstream, frozen: false };
    this.links.add(link);
    const end = () => {
      this.links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    let first = true;
    client.on('data', (chunk: Buffer) => {
      if (first) {
        first = false;
        if (/^upgrade:\s*websocket/im.test(chunk.toString('latin1'))) {
          this.upgradesSeen++;
          if (this.refuseWebSockets) return end();
        }
      }
      if (!link.frozen) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!link.frozen) client.write(chunk);
    });
  }

  /** Breaks every open connection; new ones are refused until `restore()`. */
  cut(): void {
    this.down = true;
    for (const link of this.links) {
      link.client.destroy();
      link.upstream.destroy();
    }
    this.links.clear();
  }

  restore(): void {
    this.down = false;
  }

  /** The open connections go silent (nothing passes, nothing closes); new ones work. */
  freeze(): void {
    for (const link of this.links) link.frozen = true;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
