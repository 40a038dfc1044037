/**
 * Progress and diagnostics go to stderr so that stdout stays machine-readable (JSON lines,
 * tables). `verbose` adds detail; `quiet` silences progress (tests).
 */
export interface Logger {
  info(message: string): void;
  progress(message: string): void;
  warn(message: string): void;
  debug(message: string, details?: unknown): void;
}

export interface LoggerOptions {
  verbose?: boolean;
  quiet?: boolean;
  write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  return {
    info: (message) => {
      if (!options.quiet) write(message);
    },
    progress: (message) => {
      if (!options.quiet) write(message);
    },
    warn: (message) => write(`warning: ${message}`),
    debug: (message, details) => {
      if (options.verbose)
        write(details === undefined ? message : `${message} ${JSON.stringify(details)}`);
    },
  };
}

export const silentLogger: Logger = createLogger({ quiet: true, write: () => {} });
