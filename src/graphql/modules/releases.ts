import type { SchemaModule } from '../context';

/** This domain's part of the schema (filled in by its capability). */
export const releases: SchemaModule = { typeDefs: '', resolvers: {} };
