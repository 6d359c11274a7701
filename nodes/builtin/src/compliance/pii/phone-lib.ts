/**
 * libphonenumber-js with its full metadata, loaded on first use: the metadata is about 10 MiB of heap, which a
 * server that never runs a PII node (most published endpoints) should not carry. Loaded synchronously through
 * `require`, so detection stays a plain function.
 */
import { createRequire } from 'node:module';
import type * as LibPhoneNumber from 'libphonenumber-js/max';

type PhoneLib = typeof LibPhoneNumber;

let lib: PhoneLib | undefined;

export function phoneLib(): PhoneLib {
  return (lib ??= createRequire(import.meta.url)('libphonenumber-js/max') as PhoneLib);
}
