/**
 * Structured logs (pino, JSON lines on stdout). Request logs carry method, route, status and duration only:
 * never bodies, headers, cookies, keys or credential values, so nothing personal or secret reaches the log.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'finflow' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Defence in depth: if a header object is ever logged, its secrets are not.
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'headers.authorization',
          'headers.cookie',
          '*.password',
          '*.value',
        ],
        censor: '[redacted]',
      },
    },
    // Lines are buffered up to 4 KiB and flushed at least every 250 ms: one write per burst, not per request.
    destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 250 }),
  );
}
