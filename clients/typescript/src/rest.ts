// REST calls, typed by the generated OpenAPI types (openapi-fetch).
import createClient from 'openapi-fetch';

import type { paths } from './schema.js';

/** The typed REST client: `rest.GET('/api/v1/chats')`, `rest.POST(...)`, … */
export type Rest = ReturnType<typeof createClient<paths>>;

/**
 * A refused or failed call: `status` is the HTTP status (0 when the
 * server could not be reached), `code` Parley's error code
 * (`not_a_member`, `rate_limited`, …; `network_error` for status 0).
 */
export class ParleyError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly field?: string | null,
    /** From `Retry-After` (429 / 503), in milliseconds. */
    readonly retryAfterMs?: number,
  ) {
    super(detail);
    this.name = 'ParleyError';
  }

  /** Worth trying again later: unreachable, rate-limited or a server error. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

/** A REST client for `baseUrl` whose calls carry `token()` when it has one. */
export function createRest(
  baseUrl: string,
  token: () => string | undefined,
  fetchImpl: typeof fetch = globalThis.fetch,
): Rest {
  const rest = createClient<paths>({ baseUrl, fetch: (request) => fetchImpl(request) });
  rest.use({
    onRequest({ request }) {
      const current = token();
      if (current && !request.headers.has('Authorization')) {
        request.headers.set('Authorization', `Bearer ${current}`);
      }
      return request;
    },
  });
  return rest;
}

/**
 * The body of a successful call, or a `ParleyError`: Parley's error body
 * `{detail, code, field?}` for a refusal, `network_error` when the server
 * could not be reached.
 */
export async function ok<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result;
  try {
    result = await call;
  } catch (err) {
    throw new ParleyError(0, 'network_error', err instanceof Error ? err.message : String(err));
  }
  if (result.response.ok) return result.data as T;
  const body = (result.error ?? {}) as { detail?: string; code?: string; field?: string | null };
  const retryAfter = Number(result.response.headers.get('retry-after'));
  throw new ParleyError(
    result.response.status,
    body.code ?? `http_${result.response.status}`,
    body.detail ?? result.response.statusText,
    body.field,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
  );
}
