/**
 * REST errors in GitLab's shapes. Handlers throw an ApiError; the router turns it into a JSON
 * response. Anything else thrown is logged and answered with a generic 500, so no internal
 * message, SQL or stack trace reaches a client.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body.message === 'string' ? body.message : String(body.error ?? status));
  }
}

/** 400 `{"error": "<param> is missing"}` and friends, as Grape answers a bad parameter. */
export const badRequest = (error: string) => new ApiError(400, { error });
/** 400 `{"message": {"field": ["..."]}}`, as GitLab answers a model validation failure. */
export const validationError = (field: string, ...messages: string[]) =>
  new ApiError(400, { message: { [field]: messages } });
/** 400 with a plain message, as GitLab answers `render_api_error!(msg, 400)`. */
export const badRequestMessage = (message: string) => new ApiError(400, { message: `400 Bad request - ${message}` });
export const unauthorized = () => new ApiError(401, { message: '401 Unauthorized' });
export const forbidden = (reason?: string) =>
  new ApiError(403, { message: reason ? `403 Forbidden - ${reason}` : '403 Forbidden' });
export const notFound = (what?: string) =>
  new ApiError(404, { message: what ? `404 ${what} Not Found` : '404 Not Found' });
export const conflict = (message: string | Record<string, string[]>) => new ApiError(409, { message });
export const methodNotAllowed = () => new ApiError(405, { message: '405 Method Not Allowed' });
/** 403 for a token whose scopes do not allow the request (GitLab's insufficient_scope). */
export const insufficientScope = (scope = 'api') =>
  new ApiError(403, {
    error: 'insufficient_scope',
    error_description: 'The request requires higher privileges than provided by the access token.',
    scope,
  });

/** JSON response with GitLab's content type. */
export function json(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  const h = new Headers(headers);
  h.set('Content-Type', 'application/json');
  return new Response(JSON.stringify(body), { status, headers: h });
}

/** Turn any thrown value into a response; unknown errors are logged and masked. */
export function errorResponse(err: unknown): Response {
  if (err instanceof ApiError) return json(err.body, err.status, err.headers);
  console.error('unhandled error', err instanceof Error ? err.stack ?? err.message : err);
  return json({ message: '500 Internal Server Error' }, 500);
}
