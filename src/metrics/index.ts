// The Prometheus face of the daemon: the metrics and the listener that serves
// them with /healthz and /readyz (metrics.listen).
export { BrokerMetrics } from './broker-metrics.js';
export type { MetricsOptions, MetricsSources } from './broker-metrics.js';
export { exposureWarning, MetricsServer, MAX_TARGET_LENGTH } from './metrics-server.js';
export type { MetricsServerOptions } from './metrics-server.js';
