/**
 * Database URLs for the observation store: `sqlite:PATH` (`sqlite:` alone: ./.katib/katib.db; `sqlite::memory:`),
 * `postgres://` / `postgresql://`, and `mysql://` / `mariadb://`.
 */
import { ValidationError } from '../../errors.js';
import type { BackendKind } from './backend.js';

export const DEFAULT_SQLITE_PATH = './.katib/katib.db';

export type DatabaseTarget =
  | { readonly kind: 'sqlite'; readonly file: string }
  | { readonly kind: Exclude<BackendKind, 'sqlite'>; readonly url: string };

const USAGE = 'use sqlite:PATH, postgres://USER:PASSWORD@HOST:5432/DATABASE or mysql://USER:PASSWORD@HOST:3306/DATABASE';

/** Parses `url`; throws ValidationError (field `db`) naming the accepted forms. */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'sqlite' || scheme === 'sqlite3') {
    let file = url.slice(scheme.length + 1);
    // sqlite:///abs/path and sqlite://rel/path, as other tools write them.
    if (file.startsWith('//')) file = file.slice(2);
    return { kind: 'sqlite', file: file === '' ? DEFAULT_SQLITE_PATH : file };
  }
  const kind = scheme === 'postgres' || scheme === 'postgresql' ? 'postgres' : scheme === 'mysql' || scheme === 'mariadb' ? 'mysql' : undefined;
  if (!kind) throw new ValidationError([{ path: 'db', message: `unsupported database URL ${JSON.stringify(redactUrl(url))}; ${USAGE}` }]);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError([{ path: 'db', message: `${JSON.stringify(redactUrl(url))} is not a valid URL; ${USAGE}` }]);
  }
  if (!parsed.hostname) throw new ValidationError([{ path: 'db', message: `${JSON.stringify(redactUrl(url))} names no host; ${USAGE}` }]);
  if (kind === 'mysql' && parsed.pathname.length <= 1) {
    throw new ValidationError([{ path: 'db', message: `${JSON.stringify(redactUrl(url))} names no database; ${USAGE}` }]);
  }
  if (kind === 'mysql') parsed.protocol = 'mysql:';
  return { kind, url: kind === 'mysql' ? parsed.toString() : url };
}

/** `url` without its password (user info and `password=` query parameters), for logs and messages. */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not a URL: cut anything between "://user:" and "@" by hand.
    return url.replace(/(\/\/[^:/@]*):[^@/]*@/, '$1@');
  }
  if (parsed.protocol === 'sqlite:' || parsed.protocol === 'sqlite3:') return url;
  parsed.password = '';
  for (const key of [...parsed.searchParams.keys()]) if (/pass/i.test(key)) parsed.searchParams.delete(key);
  return parsed.toString();
}
