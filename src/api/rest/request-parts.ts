/** Reading request parts before (or without) a schema: path parameters and body or query fields. */
import type { FastifyRequest } from 'fastify';

/** A path parameter as a string ('' when absent). */
export function param(req: FastifyRequest, name: string): string {
  const v = (req.params as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : '';
}

/** A field of a parsed body or query, of any type. */
export function field(o: unknown, name: string): unknown {
  return typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[name] : undefined;
}
