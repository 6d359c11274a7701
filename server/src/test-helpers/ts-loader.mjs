// Lets a child `node` process run the server's TypeScript sources directly (tests that kill and restart a real
// server process): `node --conditions=source --import <this file> entry.ts`. Type-only syntax is stripped with
// TypeScript's transpiler; nothing is type-checked here (vitest and tsc do that).
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
