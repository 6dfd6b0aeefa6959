// Where client commands find the daemon: --socket, else $TOKEN_BROKER_ADDRESS,
// else the default unix socket. Accepts unix:///path, a bare absolute path,
// and tcp://host:port.
export const DEFAULT_DAEMON_ADDRESS = 'unix:///run/token-broker/broker.sock';

export interface DaemonAddress {
  /** As the user wrote it, for messages. */
  readonly display: string;
  /** The grpc-js target. */
  readonly target: string;
  readonly kind: 'unix' | 'tcp';
}

export function resolveDaemonAddress(explicit?: string, env: NodeJS.ProcessEnv = process.env): DaemonAddress {
  const raw = explicit ?? env.TOKEN_BROKER_ADDRESS ?? DEFAULT_DAEMON_ADDRESS;
  if (raw.startsWith('unix://')) return { display: raw, target: raw, kind: 'unix' };
  if (raw.startsWith('/')) return { display: raw, target: `unix://${raw}`, kind: 'unix' };
  if (raw.startsWith('tcp://')) return { display: raw, target: raw.slice('tcp://'.length), kind: 'tcp' };
  throw new Error(`daemon address "${raw}" is not understood: use unix:///path/to/broker.sock or tcp://host:port.`);
}
