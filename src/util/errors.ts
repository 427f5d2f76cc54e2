/**
 * One error shape for the whole code base: a stable machine-readable `code`, whether a retry can help
 * (`retriable`), and the underlying `cause`. Retry loops look only at `retriable`; logs and the API look at
 * `code`. An error that is not a KmfError is, by definition, unexpected.
 */
export class KmfError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: string,
    message: string,
    opts: { retriable?: boolean; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'KmfError';
    this.code = code;
    this.retriable = opts.retriable ?? false;
    this.details = opts.details;
  }
}

export function isRetriable(err: unknown): boolean {
  return err instanceof KmfError && err.retriable;
}

/** Render any thrown value as a message without dumping objects (which could hold secrets). */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
