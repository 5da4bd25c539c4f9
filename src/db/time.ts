/** Now as an ISO 8601 UTC string with milliseconds, the form every timestamp column holds. */
export function nowIso(): string {
  return new Date().toISOString();
}
