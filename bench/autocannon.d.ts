// The few parts of autocannon (no bundled types) that bench/api-load.ts and bench/load-traffic.ts use.
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  namespace autocannon {
    interface Request {
      path?: string;
      method?: string;
      headers?: Record<string, string>;
    }
    /** Per-connection scratch space shared by a request's setupRequest and onResponse. */
    type Context = Record<string, unknown>;
    interface Options {
      url: string;
      connections?: number;
      duration?: number;
      /** Seconds before a request counts as timed out. */
      timeout?: number;
      headers?: Record<string, string>;
      requests?: Array<{
        setupRequest?: (request: Request, context: Context) => Request;
        onResponse?: (status: number, body: string, context: Context) => void;
      }>;
    }
    interface Result {
      errors: number;
      timeouts: number;
    }
    interface Instance extends EventEmitter {
      on(
        event: 'response',
        listener: (
          client: unknown,
          statusCode: number,
          resBytes: number,
          responseTime: number,
        ) => void,
      ): this;
      on(event: 'reqError' | 'done', listener: (...args: unknown[]) => void): this;
    }
  }
  function autocannon(
    options: autocannon.Options,
    done: (err: Error | null, result: autocannon.Result) => void,
  ): autocannon.Instance;
  export default autocannon;
}
