// The thread that holds jieba's dictionary for the PII nodes (see segmenter.ts): loading it takes 150-400 ms of
// CPU, which on the main thread would stall every other run and request; here it stalls nothing.
import { parentPort } from 'node:worker_threads';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Jieba } = require('@node-rs/jieba');
const { dict } = require('@node-rs/jieba/dict');
const jieba = Jieba.withDict(dict);

parentPort.on('message', ({ id, text }) => {
  try {
    parentPort.postMessage({ id, tags: jieba.tag(text, true) });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error) });
  }
});
