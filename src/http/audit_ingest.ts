import type { ApiRouter } from './router';

/** Routes of this resource (filled in by its capability). */
export function registerAuditIngestRoutes(_router: ApiRouter): void {}
