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
    destination ?? bufferedDestination(1),
  );
}

/** How long a buffered log line waits at most before it is written. */
export const LOG_FLUSH_MS = 250;

/**
 * A file descriptor (stdout: 1) written through sonic-boom: lines are buffered up to 4 KiB, one write per burst,
 * not per request, and flushed at most LOG_FLUSH_MS after the first line a flush has not written yet. The timer
 * runs only while lines wait: sonic-boom's own `periodicFlush` writes every interval even with nothing buffered
 * (an empty write on libuv's pool and two wake-ups of the event loop, twelve a second on an idle server).
 */
export function bufferedDestination(fd: number): DestinationStream {
  const dest = pino.destination({ dest: fd, sync: false, minLength: 4096 });
  const write = dest.write.bind(dest);
  let timer: NodeJS.Timeout | undefined;
  let open = true;
  const closed = (): void => {
    open = false;
    clearTimeout(timer);
  };
  dest.on('finish', closed);
  dest.on('close', closed);
  dest.write = (line: string): boolean => {
    const ok = write(line);
    if (open)
      timer ??= setTimeout(() => {
        timer = undefined;
        // A flush of a closed destination throws; it wrote what it had when it closed.
        if (open) dest.flush();
      }, LOG_FLUSH_MS).unref();
    return ok;
  };
  return dest;
}
