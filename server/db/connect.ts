/**
 * Opens the PostgreSQL connection pool (postgres.js). With a DATABASE_URL that server is
 * used as is; without one the embedded PostgreSQL is started under `dataDir/pg` and the
 * `vmledger` database created on it.
 */
import net from 'node:net';
import path from 'node:path';
import postgres from 'postgres';
import { startEmbeddedPostgres } from './embedded.ts';
import { tagByModule } from './tag.ts';

/** A postgres.js pool (no custom types). */
export type Sql = postgres.Sql;

/**
 * The connection options postgres.js resolved for a pool. Its type definitions declare
 * `pass` as null, but the resolved password (or the function that gives it) is kept there.
 */
export type ResolvedOptions = {
  host: string[];
  port: number[];
  database: string;
  user: string;
  pass: string | (() => string);
  ssl: unknown;
};

/** The pool's resolved connection options, to open another connection like its own. */
export function resolvedOptions(sql: Sql): ResolvedOptions {
  return sql.options as unknown as ResolvedOptions;
}

export type Database = {
  /** The pool of requests: statements end after SERVER_TIMEOUTS (see createPool). */
  sql: Sql;
  /** A pool for background jobs and migrations, whose statements may run long (JOB_TIMEOUTS). */
  jobSql?: Sql;
  url: string;
  /** Closes the pool and stops the embedded server when we started one. */
  close(): Promise<void>;
};

/**
 * A connected socket with Nagle's algorithm off. postgres.js leaves it on, and then the small
 * message that ends a COPY (or the next query after one) waits for the server's delayed ACK:
 * 40 ms per COPY on Linux, the largest single cost of storing a capture.
 */
function connectWithoutDelay(
  options: { host: string[]; port: number[]; path?: string },
): Promise<net.Socket> {
  const socket = options.path
    ? net.connect({ path: options.path })
    : net.connect({ host: options.host[0], port: options.port[0], noDelay: true });
  // postgres.js starts its own connect timer only once it has the socket.
  socket.setTimeout(
    30_000,
    () => socket.destroy(new Error(`could not connect to PostgreSQL within 30 s`)),
  );
  socket.once('connect', () => {
    socket.setTimeout(0);
    socket.setNoDelay(true);
  });
  // Handed over while still connecting (writes wait in the socket): a refused connection
  // then reaches postgres.js as the socket's 'error' and 'close', which fail the waiting
  // query and retire the connection. A rejected promise instead left that connection
  // "connecting" for ever, and once every pool slot was lost so (PostgreSQL down for a
  // minute), requests hung even after PostgreSQL was back (tests/drills/db_outage.test.ts).
  return Promise.resolve(socket);
}

/**
 * PostgreSQL's limits on a connection's sessions, in ms (0: none): how long one statement
 * may run, and how long a transaction may sit idle (a client that stopped talking mid
 * transaction, holding its locks and its connection).
 */
export type SessionTimeouts = { statementMs: number; idleInTransactionMs: number };

/**
 * The server's request pool. The longest statement of a request is an ingest's COPY or
 * routine: about 0.3 s for 10,000 VMs, so 5 minutes leaves room for the 1,000,000 a capture
 * may hold, and still ends what is stuck. An ingest transaction waits between statements
 * only while the server parses a part of the capture (milliseconds).
 */
export const SERVER_TIMEOUTS: SessionTimeouts = {
  statementMs: 5 * 60_000,
  idleInTransactionMs: 60_000,
};

/**
 * Jobs (aggregation, benchmarks, maintenance) and migrations: a month's aggregation or an
 * index build can run for many minutes, so no statement limit; a transaction idle for ten
 * minutes is still ended (the TS engine computes between statements, for seconds).
 */
export const JOB_TIMEOUTS: SessionTimeouts = { statementMs: 0, idleInTransactionMs: 10 * 60_000 };

/** postgres.js `types`: int8 (counts, sums) as JS numbers; every value we store fits in 2^53. */
export const INT8_AS_NUMBER = {
  bigint: {
    to: 20,
    from: [20],
    serialize: (x: number) => x.toString(),
    parse: (x: string) => Number(x),
  },
};

/**
 * Creates a postgres.js pool with the project's settings (quiet notices, UTC, bigints as
 * numbers, no Nagle delay, statements of vanished clients cancelled, no JIT). `timeouts` become session settings of every connection; without
 * them the server's defaults hold (tools, tests, benchmarks).
 */
export function createPool(
  url: string,
  options: { max?: number; timeouts?: SessionTimeouts; pipeline?: number } = {},
): Sql {
  const timeouts = options.timeouts
    ? {
      statement_timeout: options.timeouts.statementMs,
      idle_in_transaction_session_timeout: options.timeouts.idleInTransactionMs,
    }
    : {};
  // Each statement names the vmledger module that sends it (tag.ts; the Database page).
  return tagByModule(postgres(url, {
    max: options.max ?? 10,
    // Statements that may wait on a busy connection behind the one running (see
    // createRequestPool). An option postgres.js's parser reads (its defaults, index.js) and
    // its type definitions leave out.
    ...({ max_pipeline: options.pipeline ?? 100 } as object),
    // `socket` is a documented postgres.js option that its type definitions leave out.
    ...({ socket: connectWithoutDelay } as object),
    onnotice: () => {},
    // Seconds before a dropped connection is tried again: postgres.js's default grows to
    // 20 s, and requests queued meanwhile waited that long for their 503 while PostgreSQL
    // was down (tests/drills/db_outage.test.ts); at most 2 s keeps them short.
    backoff: (retries: number) => Math.min(0.25 * 2 ** retries, 2),
    connection: {
      TimeZone: 'UTC',
      application_name: 'vmledger',
      // A statement whose client is gone (a server process killed mid-ingest) is cancelled
      // within a second, not run to its end while holding the source's row lock.
      client_connection_check_interval: '1s',
      // No JIT compilation. vmledger's statements are short and many (an alert evaluation is
      // a dozen statements of a few ms); where the planner's estimate passes jit_above_cost
      // (easily, on a young database without statistics), compiling takes 0.1-2 s, far more
      // than running. Debian's PostgreSQL has JIT on; the embedded server has none, so this
      // also makes a system server behave as every benchmark measured.
      jit: 'off',
      ...timeouts,
    },
    types: INT8_AS_NUMBER,
  }) as unknown as Sql);
}

/** Makes sure the database named in `url` exists, creating it from the maintenance db. */
export async function ensureDatabase(url: string, name: string): Promise<string> {
  const admin = createPool(url, { max: 1 });
  try {
    const rows = await admin`select 1 from pg_database where datname = ${name}`;
    if (rows.length === 0) {
      await admin.unsafe(`create database "${name.replace(/"/g, '""')}"`).catch((err) => {
        if (err?.code !== '42P04') throw err; // created concurrently
      });
    }
  } finally {
    await admin.end();
  }
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Connects to the configured database, starting the embedded one when no URL is given. */
export async function openDatabase(options: {
  databaseUrl?: string;
  dataDir: string;
  embeddedPort: number;
  onLog?: (line: string) => void;
}): Promise<Database> {
  const embedded = options.databaseUrl ? null : await startEmbeddedPostgres({
    pgDir: path.join(options.dataDir, 'pg'),
    port: options.embeddedPort,
    onLog: options.onLog,
  });
  const url = embedded ? await ensureDatabase(embedded.url, 'vmledger') : options.databaseUrl!;
  const sql = createRequestPool(url, SERVER_TIMEOUTS);
  const jobSql = createPool(url, { max: 4, timeouts: JOB_TIMEOUTS });
  return {
    sql,
    jobSql,
    url,
    close: async () => {
      await Promise.all([sql.end({ timeout: 5 }), jobSql.end({ timeout: 5 })]);
      await embedded?.stop();
    },
  };
}

/**
 * The server's request pool: each statement waits in one queue for the first connection free,
 * with at most one more sent behind the one a connection runs. postgres.js's default (100)
 * hands each statement to the next busy connection in turn, so under load a cheap statement
 * waited behind several slow ones on one connection while others were free: with 50 clients
 * the `at` list's p99 was 148-164 ms against 117-124 ms so, at the same throughput
 * (bench/history_probe.ts, runs interleaved).
 *
 * postgres.js 3.4's `begin` learns its connection only when its BEGIN leaves room in that
 * connection's pipeline (porsager/postgres#1189, #1210): with room for one, a BEGIN sent
 * behind a running statement left the transaction without its connection (a TypeError that
 * ended the process, or UNSAFE_TRANSACTION with the BEGIN left open on a pooled connection).
 * So `begin` runs on a pool of its own with postgres.js's
 * pipelining, where that takes a BEGIN sent as a connection's hundredth statement: ingest,
 * alerts, rates and the list model's builds (which then leave the requests' connections too).
 * `reserve` (a scoped viewer's connection) waits for a free connection and is safe on either.
 */
export function createRequestPool(
  url: string,
  timeouts: SessionTimeouts,
  options: { max?: number; transactionsMax?: number } = {},
): Sql {
  const statements = createPool(url, { max: options.max ?? 10, timeouts, pipeline: 1 });
  const transactions = createPool(url, { max: options.transactionsMax ?? 5, timeouts });
  const end = async (o?: { timeout?: number }) => {
    await Promise.all([statements.end(o), transactions.end(o)]);
  };
  return new Proxy(statements, {
    get(target, prop, receiver) {
      if (prop === 'begin') return transactions.begin;
      if (prop === 'end') return end;
      return Reflect.get(target, prop, receiver);
    },
  });
}

/** A timestamp column as ISO text (null stays null): how every API answer writes times. */
export const iso = (v: unknown) => (v ? new Date(v as string).toISOString() : null);
