// The daemon's Prometheus metrics: one prom-client Registry per daemon (never
// the global one, so several daemons in one process do not clash). Counters
// that the hot path touches are plain numbers (CallCounts); everything about
// mailboxes (states, token expiry, credential deaths) is computed at scrape
// time from the engine's statuses, so a call does no work for it.
import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MailboxState, MailboxStatus, TokenRequestObserver } from '../broker/index.js';
import { WARNING_DAYS } from '../forecast/credential-death.js';
import type { CredentialDeath } from '../forecast/credential-death.js';
import type { CallObserver } from '../server/index.js';
import type { Clock } from '../time/index.js';
import { CallCounts } from './call-counts.js';

const DAY_MS = 86_400_000;
const MAILBOX_STATES: readonly MailboxState[] = ['IDLE', 'READY', 'ACQUIRING', 'NEEDS_AUTHORIZATION', 'FAILING'];
/** Token requests take from tens of milliseconds to the HTTP timeouts (tens of seconds). */
const ACQUISITION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** What the metrics read at scrape time; functions, because the parts they read are made after the metrics. */
export interface MetricsSources {
  /** Every mailbox's status (TokenBroker.statuses). */
  readonly statuses: () => readonly MailboxStatus[];
  /** WatchToken streams open now. */
  readonly watchStreams: () => number;
  /** Whether the token store answers, and how many probes found it not answering (StoreHealthMonitor). */
  readonly store: () => { readonly available: boolean; readonly probeFailures: number };
  /**
   * The deaths of the server.tls certificates (mailbox label ""); none by
   * default. The forecast's serverTlsCertificateDeaths(config) is handed in here.
   */
  readonly serverCertificateDeaths?: () => readonly CredentialDeath[];
}

export interface MetricsOptions {
  /** metrics.perMailbox: false leaves out every series with a mailbox label. */
  readonly perMailbox: boolean;
  /** What "now" is for expiry figures (a manual clock in tests). */
  readonly clock: Clock;
  readonly sources: MetricsSources;
}

/** What one scrape reads once and every collector shares. */
interface Snapshot {
  readonly now: number;
  readonly statuses: readonly MailboxStatus[];
  readonly serverDeaths: readonly CredentialDeath[];
}

export class BrokerMetrics {
  readonly registry = new Registry();
  readonly #options: MetricsOptions;
  readonly #calls = new CallCounts();
  readonly #tokenRequests: Counter<'server' | 'grant' | 'outcome'>;
  readonly #acquisitionSeconds: Histogram<'server' | 'grant'>;
  /** Set while a scrape runs, so the collectors read the statuses once, not once each. */
  #scrape: Snapshot | undefined;

  constructor(options: MetricsOptions) {
    this.#options = options;
    const registers = [this.registry];
    const snapshot = (): Snapshot => this.#scrape ?? this.#snapshot();
    const { sources } = options;

    this.#tokenRequests = new Counter({
      name: 'token_broker_token_requests_total',
      help: 'Token requests sent to authorization servers, by server (its name in the config), grant type and outcome ("ok" or the error code).',
      labelNames: ['server', 'grant', 'outcome'],
      registers,
    });
    this.#acquisitionSeconds = new Histogram({
      name: 'token_broker_token_acquisition_seconds',
      help: 'How long authorization servers took to answer token requests, by server and grant type.',
      labelNames: ['server', 'grant'],
      buckets: ACQUISITION_BUCKETS,
      registers,
    });
    const calls = this.#calls;
    new Counter({
      name: 'token_broker_grpc_calls_total',
      help: 'gRPC calls answered, by method, status ("ok", the token-broker-error-code sent, else the gRPC status name) and client (its name in server.clients; "anonymous" without a list).',
      labelNames: ['method', 'status', 'client'],
      registers,
      collect() {
        this.reset();
        for (const [method, status, client, count] of calls.entries()) this.inc({ method, status, client }, count);
      },
    });
    new Gauge({
      name: 'token_broker_watch_streams',
      help: 'WatchToken streams open now.',
      registers,
      collect() {
        this.set(sources.watchStreams());
      },
    });
    new Gauge({
      name: 'token_broker_mailboxes',
      help: 'Configured mailboxes by state (IDLE, READY, ACQUIRING, NEEDS_AUTHORIZATION, FAILING).',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = new Map<MailboxState, number>(MAILBOX_STATES.map((state) => [state, 0]));
        for (const status of snapshot().statuses) counts.set(status.state, (counts.get(status.state) ?? 0) + 1);
        for (const [state, count] of counts) this.set({ state }, count);
      },
    });
    new Gauge({
      name: 'token_broker_store_up',
      help: 'Whether the token store answers its health check (1) or not (0).',
      registers,
      collect() {
        this.set(sources.store().available ? 1 : 0);
      },
    });
    new Counter({
      name: 'token_broker_store_probe_failures_total',
      help: 'Health checks of the token store that failed.',
      registers,
      collect() {
        this.reset();
        this.inc(sources.store().probeFailures);
      },
    });
    new Gauge({
      name: 'token_broker_credential_warnings',
      help: 'Credentials (refresh tokens, client secrets, certificates, the server TLS certificate) expected to stop working within 14, 7 and 1 days (or already dead), counted per mailbox: a secret three mailboxes share counts 3.',
      labelNames: ['days'],
      registers,
      collect() {
        const { now, statuses, serverDeaths } = snapshot();
        const deaths = [...statuses.flatMap((status) => status.credentialDeaths ?? []), ...serverDeaths];
        for (const days of WARNING_DAYS) this.set({ days: String(days) }, deaths.filter((death) => death.at - now <= days * DAY_MS).length);
      },
    });
    if (options.perMailbox) this.#perMailboxMetrics(snapshot);
    collectDefaultMetrics({ register: this.registry });
  }

  /** The gRPC server's CallObserver: a call answered. */
  readonly onCall: CallObserver = (method, status, client) => this.#calls.add(method, status, client);

  /** The engine's TokenRequestObserver: a request sent, timed until its outcome. */
  readonly onTokenRequest: TokenRequestObserver = ({ server, grant }) => {
    // Durations on the monotonic clock: the injected Clock is wall time, which tests move and NTP steps.
    const started = performance.now();
    return (outcome) => {
      this.#tokenRequests.inc({ server, grant, outcome });
      this.#acquisitionSeconds.observe({ server, grant }, (performance.now() - started) / 1000);
    };
  };

  /** The text exposition of every metric (what GET /metrics answers). */
  async metrics(): Promise<string> {
    this.#scrape = this.#snapshot();
    try {
      return await this.registry.metrics();
    } finally {
      this.#scrape = undefined;
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  #snapshot(): Snapshot {
    const { clock, sources } = this.#options;
    return { now: clock.now(), statuses: sources.statuses(), serverDeaths: sources.serverCertificateDeaths?.() ?? [] };
  }

  /** The series named by mailbox: left out whole with metrics.perMailbox false (fleets of many thousands). */
  #perMailboxMetrics(snapshot: () => Snapshot): void {
    const registers = [this.registry];
    new Gauge({
      name: 'token_broker_token_expiry_seconds',
      help: "Seconds until each mailbox's current access token expires (negative once expired); mailboxes without a token have no series.",
      labelNames: ['mailbox'],
      registers,
      collect() {
        this.reset();
        const { now, statuses } = snapshot();
        for (const status of statuses) {
          if (status.tokenExpiresAt !== undefined) this.set({ mailbox: status.mailbox }, (status.tokenExpiresAt - now) / 1000);
        }
      },
    });
    new Gauge({
      name: 'token_broker_credential_expiry_days',
      help: 'Days until each credential a mailbox depends on is expected to stop working (negative once past), by mailbox ("" for the server TLS certificate), credential and basis of the forecast.',
      labelNames: ['mailbox', 'credential', 'basis'],
      registers,
      collect() {
        this.reset();
        const { now, statuses, serverDeaths } = snapshot();
        const series = [...statuses.map((status) => [status.mailbox, status.credentialDeaths ?? []] as const), ['', serverDeaths] as const];
        for (const [mailbox, deaths] of series) {
          // Earliest first: a later forecast of the same credential on the same basis does not overwrite it.
          const seen = new Set<string>();
          for (const death of deaths) {
            const key = `${death.credential}\0${death.basis}`;
            if (seen.has(key)) continue;
            seen.add(key);
            this.set({ mailbox, credential: death.credential, basis: death.basis }, (death.at - now) / DAY_MS);
          }
        }
      },
    });
  }
}
