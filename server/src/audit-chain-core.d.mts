/** Types of audit-chain-core.mjs (plain JavaScript, shared with the writer thread). */
import type { KeyObject } from 'node:crypto';

export declare const GENESIS_HASH: string;
export declare function deriveAuditKey(masterKey: Buffer): Buffer;
export declare function deriveCheckpointKey(masterKey: Buffer): Buffer;
export declare function chainHash(
  prevHash: string,
  seq: number,
  workspaceId: string,
  at: number,
  actor: string,
  action: string,
  target: string,
  details: string,
): string;
export declare function entryMac(key: Buffer | KeyObject, hash: string): string;
export declare function headMac(
  key: Buffer | KeyObject,
  workspaceId: string,
  seq: number,
  hash: string,
  count: number,
): string;
