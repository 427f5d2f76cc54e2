import winston from 'winston';

/**
 * winston JSON logs on stderr (stdout is kept for a command's own output, e.g. `kmf mesos-sim` printing its URL).
 * Context (framework id, task id, broker id …) goes in via `logger.child({...})`.
 * Keys that look like secrets are masked whatever the caller passes, so a careless log line cannot leak a token.
 */
const SECRET_KEY = /(secret|password|passwd|token|authorization|credential)/i;

const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (SECRET_KEY.test(key)) (info as Record<string, unknown>)[key] = '[redacted]';
  }
  return info;
});

export type Logger = winston.Logger;

export function createLogger(opts: { level?: string; component?: string; silent?: boolean } = {}): Logger {
  return winston.createLogger({
    level: opts.level ?? process.env['KMF_LOG_LEVEL'] ?? 'info',
    silent: opts.silent ?? false,
    defaultMeta: opts.component === undefined ? {} : { component: opts.component },
    format: winston.format.combine(redact(), winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
    transports: [new winston.transports.Console({ stderrLevels: Object.keys(winston.config.npm.levels) })],
  });
}

/** A logger for tests: quiet unless KMF_TEST_LOG is set. */
export function testLogger(component = 'test'): Logger {
  return createLogger({ component, level: process.env['KMF_TEST_LOG'] ?? 'error', silent: process.env['KMF_TEST_LOG'] === undefined });
}
