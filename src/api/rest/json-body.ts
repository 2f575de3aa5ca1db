/**
 * Request bodies are JSON only: fastify's default `text/plain` parser is removed, so any other
 * content type is a 415. Routes whose body has no required field (commit, rollback, resend)
 * may also take no body at all, or an empty one sent as `application/json`, as `{}`: clients
 * that always send the JSON content type, and clients that never send a body, both work.
 */
import type { FastifyInstance } from 'fastify';

export interface JsonBodyOptions {
  /** A missing or empty body is `{}`. @defaultValue false */
  readonly emptyAsObject?: boolean;
}

/** Applies to the routes of the plugin (encapsulation context) it is called in. */
export function jsonBodies(app: FastifyInstance, o: JsonBodyOptions = {}): void {
  app.removeContentTypeParser('text/plain');
  if (o.emptyAsObject !== true) return;
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body.toString().trim() === '') done(null, {});
    else parse(req, body.toString(), done);
  });
  app.addHook('preValidation', async (req) => {
    if (req.body === undefined && req.routeOptions.schema?.body !== undefined) req.body = {};
  });
}
