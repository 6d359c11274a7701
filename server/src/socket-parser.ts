/**
 * The socket.io packet parser with the server's JSON limits: a packet whose JSON is nested deeper than the limit,
 * or holds a number that overflows to ±Infinity, is refused before `JSON.parse` sees it. socket.io treats a
 * packet its parser refuses as a protocol error and closes that connection; other connections are unaffected.
 */
import { Decoder, Encoder, PacketType, protocol } from 'socket.io-parser';
import { checkJsonText, JsonInputError } from './security/safe-json.js';

export interface SocketParser {
  protocol: number;
  PacketType: typeof PacketType;
  Encoder: typeof Encoder;
  Decoder: typeof Decoder;
}

export function limitedParser(maxDepth: number): SocketParser {
  class LimitedDecoder extends Decoder {
    override add(obj: unknown): void {
      if (typeof obj === 'string') {
        try {
          checkJsonText(obj, maxDepth);
        } catch (err) {
          throw new Error(err instanceof JsonInputError ? `${err.code}: ${err.message}` : String(err), {
            cause: err,
          });
        }
      }
      super.add(obj);
    }
  }
  return { protocol, PacketType, Encoder, Decoder: LimitedDecoder };
}
