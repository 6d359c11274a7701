/**
 * OCR with tesseract.js, fully offline: the LSTM models come from the @tesseract.js-data npm packages (the
 * library's default would fetch them from a CDN), images are normalised with sharp first, and workers are
 * pooled across runs because starting one costs about a second while a warm page takes a fraction of that.
 *
 * Workers are created on first use, keyed by their language set, and unreferenced while idle so that a CLI
 * run can exit without calling `disposeOcr()` (the server calls it on shutdown).
 */
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { rmSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Worker as ThreadWorker } from 'node:worker_threads';
import type { Worker as TesseractWorker, Page, Block } from 'tesseract.js';
import { NodeError } from '@finflow/sdk';

export const ocrLanguages = ['eng', 'chi_sim', 'chi_tra'] as const;
export type OcrLanguage = (typeof ocrLanguages)[number];

/** Tesseract page segmentation modes offered in config (values are tesseract's PSM numbers). */
export const pageModes = { column: '4', block: '6', auto: '3', sparse: '11' } as const;
export type PageMode = keyof typeof pageModes;

export interface OcrBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface OcrLine {
  text: string;
  /** 0..1 */
  confidence: number;
  /** In pixels of the image as given. */
  bbox: OcrBox;
}

export interface OcrResult {
  text: string;
  /** Mean word confidence, 0..1. */
  confidence: number;
  lines: OcrLine[];
  /** Tesseract language string, e.g. `eng+chi_sim`. */
  language: string;
  width: number;
  height: number;
  /** Whether the page needed a new worker (cold start). */
  cold: boolean;
  ms: number;
}

export interface OcrOptions {
  languages: readonly OcrLanguage[];
  pageMode: PageMode;
  /** Grey-scale, normalise contrast and upscale small images before recognition. */
  preprocess: boolean;
  signal: AbortSignal;
}

/** Pixels beyond which an image is refused (a 600 dpi A3 scan is ~70 M). */
const MAX_PIXELS = 100_000_000;
/**
 * Images narrower than this are enlarged to it (at most 3x): tesseract reads best with letters 20-40 px high.
 * Measured on rendered invoices and bank notices at 20-40 px type, this width gave the lowest character error
 * rate (Chinese above all) at no cost in time; 2000 px was no more accurate and 60 % slower.
 */
const MIN_WIDTH = 1600;

const require = createRequire(import.meta.url);

// --- language data --------------------------------------------------------------------------------------

let langDir: Promise<string> | undefined;

/** A private folder with a symlink per language, so one worker can load several (`eng+chi_sim`). */
function languageFolder(): Promise<string> {
  langDir ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'finflow-tessdata-'));
    // A CLI run exits without disposeOcr(); the folder of links goes with the process either way.
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    for (const lang of ocrLanguages) {
      let pkg: string;
      try {
        pkg = dirname(require.resolve(`@tesseract.js-data/${lang}/package.json`));
      } catch {
        throw new NodeError(
          `OCR language data for ${lang} is missing: install the npm package @tesseract.js-data/${lang}`,
          'OCR_DATA_MISSING',
        );
      }
      await symlink(
        join(pkg, '4.0.0_best_int', `${lang}.traineddata.gz`),
        join(dir, `${lang}.traineddata.gz`),
      );
    }
    return dir;
  })();
  langDir.catch(() => (langDir = undefined));
  return langDir;
}

// --- worker pool ----------------------------------------------------------------------------------------

interface Pooled {
  key: string;
  worker: TesseractWorker;
  /** The worker thread, which tesseract.js exposes but does not type; unreferenced while idle. */
  thread: ThreadWorker;
  busy: boolean;
  pageMode: string;
  /** Rejects when the worker thread dies, so a job on it does not wait forever. */
  died: Promise<never>;
  idleTimer?: NodeJS.Timeout;
}

interface Acquired {
  pooled: Pooled;
  /** A new worker was started for this job. */
  cold: boolean;
}

interface Waiter {
  key: string;
  resolve(acquired: Acquired): void;
  reject(err: unknown): void;
  signal: AbortSignal;
  onAbort(): void;
}

const IDLE_MS = 10 * 60_000;

function poolSize(): number {
  const fromEnv = Number(process.env['FINFLOW_OCR_WORKERS']);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return Math.min(fromEnv, 16);
  // Each worker holds ~200 MB and one core; two keep a 2-core server responsive.
  return Math.max(1, Math.min(2, availableParallelism()));
}

class OcrPool {
  private readonly workers = new Set<Pooled>();
  private starting = 0;
  private readonly waiters: Waiter[] = [];
  private disposed = false;

  constructor(private readonly max: () => number) {}

  stats() {
    return {
      workers: this.workers.size,
      busy: [...this.workers].filter((w) => w.busy).length,
      queued: this.waiters.length,
    };
  }

  async acquire(key: string, signal: AbortSignal): Promise<Acquired> {
    // A pool used again after dispose() (a server reusing the module in tests) starts afresh.
    this.disposed = false;
    const idle = this.idleWith(key);
    if (idle) return { pooled: this.take(idle), cold: false };
    if (this.workers.size + this.starting < this.max())
      return { pooled: await this.start(key, signal), cold: true };
    const other = [...this.workers].find((w) => !w.busy);
    if (other) {
      this.remove(other);
      return { pooled: await this.start(key, signal), cold: true };
    }
    return new Promise<Acquired>((resolve, reject) => {
      const waiter: Waiter = {
        key,
        resolve,
        reject,
        signal,
        onAbort: () => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(signal.reason);
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Returns a worker after a job; a worker that failed or was interrupted is terminated instead. */
  release(pooled: Pooled, healthy: boolean): void {
    pooled.busy = false;
    if (!healthy || this.disposed) this.remove(pooled);
    else {
      pooled.thread.unref();
      pooled.idleTimer = setTimeout(() => {
        if (!pooled.busy) this.remove(pooled);
      }, IDLE_MS).unref();
    }
    this.pump();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const w of this.waiters.splice(0)) {
      w.signal.removeEventListener('abort', w.onAbort);
      w.reject(new NodeError('the OCR engine is shutting down', 'CANCELLED'));
    }
    await Promise.all([...this.workers].map((w) => this.remove(w)));
  }

  private idleWith(key: string): Pooled | undefined {
    return [...this.workers].find((w) => !w.busy && w.key === key);
  }

  private take(pooled: Pooled): Pooled {
    pooled.busy = true;
    clearTimeout(pooled.idleTimer);
    pooled.thread.ref();
    return pooled;
  }

  /** Hands freed capacity to the oldest waiters. */
  private pump(): void {
    while (this.waiters.length) {
      const waiter = this.waiters[0]!;
      const idle = this.idleWith(waiter.key);
      const spare = this.workers.size + this.starting < this.max();
      const evictable = [...this.workers].find((w) => !w.busy);
      if (!idle && !spare && !evictable) return;
      this.waiters.shift();
      waiter.signal.removeEventListener('abort', waiter.onAbort);
      if (idle) waiter.resolve({ pooled: this.take(idle), cold: false });
      else {
        if (!spare && evictable) this.remove(evictable);
        this.start(waiter.key, waiter.signal).then(
          (pooled) => waiter.resolve({ pooled, cold: true }),
          waiter.reject,
        );
      }
    }
  }

  private async start(key: string, signal: AbortSignal): Promise<Pooled> {
    this.starting++;
    try {
      const dir = await languageFolder();
      const { default: Tesseract } = await import('tesseract.js');
      const worker = await Tesseract.createWorker(
        key,
        Tesseract.OEM.LSTM_ONLY,
        {
          langPath: dir,
          cacheMethod: 'none',
          gzip: true,
          logger: () => {},
          // Without a handler tesseract.js rethrows job errors inside its message listener (a process crash).
          errorHandler: () => {},
        },
        // chi_tra asks for a chi_tra_vert sub-model (vertical text) that no npm package ships.
        { tessedit_load_sublangs: '' } as Record<string, string>,
      );
      await worker.setParameters({ preserve_interword_spaces: '1' });
      const thread = (worker as TesseractWorker & { worker: ThreadWorker }).worker;
      const died = new Promise<never>((_, reject) => {
        thread.once('exit', (code: number) =>
          reject(new NodeError(`the OCR worker stopped unexpectedly (exit ${code})`, 'OCR_ENGINE_CRASHED')),
        );
        thread.on('error', (err: Error) =>
          reject(new NodeError(`the OCR worker crashed: ${err.message}`, 'OCR_ENGINE_CRASHED')),
        );
      });
      died.catch(() => {});
      const pooled: Pooled = { key, worker, thread, busy: true, pageMode: '', died };
      this.workers.add(pooled);
      if (signal.aborted) {
        this.release(pooled, true);
        throw signal.reason;
      }
      return pooled;
    } catch (err) {
      if (err instanceof NodeError || signal.aborted) throw err;
      throw new NodeError(`the OCR engine could not start: ${String(err)}`, 'OCR_ENGINE_FAILED');
    } finally {
      this.starting--;
    }
  }

  private async remove(pooled: Pooled): Promise<void> {
    if (!this.workers.delete(pooled)) return;
    clearTimeout(pooled.idleTimer);
    await pooled.worker.terminate().catch(() => {});
  }
}

const pool = new OcrPool(poolSize);

/** Terminates the OCR workers (for server shutdown); the next recognition starts new ones. */
export async function disposeOcr(): Promise<void> {
  await pool.dispose();
  const dir = langDir;
  langDir = undefined;
  if (dir) await rm(await dir.catch(() => ''), { recursive: true, force: true }).catch(() => {});
}

export function ocrPoolStats(): { workers: number; busy: number; queued: number } {
  return pool.stats();
}

// --- recognition ----------------------------------------------------------------------------------------

interface Prepared {
  png: Buffer;
  width: number;
  height: number;
  scale: number;
}

/** Decodes any image sharp reads (PNG, JPEG, WebP, TIFF, GIF, AVIF, ...) into a PNG tesseract reads well. */
async function prepare(bytes: Buffer, preprocess: boolean): Promise<Prepared> {
  const { default: sharp } = await import('sharp');
  let meta;
  try {
    meta = await sharp(bytes, { limitInputPixels: MAX_PIXELS }).metadata();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/pixel limit/i.test(message))
      throw new NodeError(`the image is larger than ${MAX_PIXELS / 1e6} megapixels`, 'INPUT_TOO_LARGE');
    throw new NodeError(`the image could not be read: ${message}`, 'IMAGE_UNREADABLE');
  }
  // EXIF orientations 5-8 swap width and height.
  const swap = (meta.orientation ?? 1) >= 5;
  const width = (swap ? meta.height : meta.width) ?? 0;
  const height = (swap ? meta.width : meta.height) ?? 0;
  if (!width || !height) throw new NodeError('the image has no pixels', 'IMAGE_UNREADABLE');
  const scale = preprocess && width < MIN_WIDTH ? Math.min(3, MIN_WIDTH / width) : 1;
  try {
    let img = sharp(bytes, { limitInputPixels: MAX_PIXELS, failOn: 'error' })
      .rotate()
      .flatten({ background: '#ffffff' });
    if (preprocess) {
      img = img.greyscale().normalise();
      if (scale > 1) img = img.resize({ width: Math.round(width * scale), kernel: 'lanczos3' });
    }
    const png = await img.png({ compressionLevel: 1 }).toBuffer();
    return { png, width, height, scale };
  } catch (err) {
    throw new NodeError(
      `the image could not be decoded: ${err instanceof Error ? err.message : String(err)}`,
      'IMAGE_UNREADABLE',
    );
  }
}

function linesOf(blocks: Block[] | null, scale: number, width: number, height: number): OcrLine[] {
  const lines: OcrLine[] = [];
  const at = (v: number, limit: number) => Math.max(0, Math.min(limit, Math.round(v / scale)));
  for (const block of blocks ?? [])
    for (const para of block.paragraphs)
      for (const line of para.lines) {
        const text = line.text.trim();
        if (!text) continue;
        lines.push({
          text,
          confidence: Math.round(line.confidence * 10) / 1000,
          bbox: {
            x0: at(line.bbox.x0, width),
            y0: at(line.bbox.y0, height),
            x1: at(line.bbox.x1, width),
            y1: at(line.bbox.y1, height),
          },
        });
      }
  return lines;
}

/** Tesseract's text without trailing blanks and with at most one empty line between paragraphs. */
function cleanText(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Recognises the text of one image. */
export async function recognizeImage(bytes: Buffer, opts: OcrOptions): Promise<OcrResult> {
  const started = performance.now();
  const languages = [...new Set(opts.languages)];
  if (!languages.length) throw new NodeError('choose at least one OCR language', 'INVALID_CONFIG');
  const key = languages.join('+');
  const prepared = await prepare(bytes, opts.preprocess);
  if (opts.signal.aborted) throw opts.signal.reason;
  const { pooled, cold } = await pool.acquire(key, opts.signal);
  let healthy = false;
  let onAbort = () => {};
  const abort = new Promise<never>((_, reject) => {
    onAbort = () => reject(opts.signal.reason);
    if (opts.signal.aborted) onAbort();
    else opts.signal.addEventListener('abort', onAbort, { once: true });
  });
  abort.catch(() => {});
  try {
    const psm = pageModes[opts.pageMode];
    if (pooled.pageMode !== psm) {
      await pooled.worker.setParameters({ tessedit_pageseg_mode: psm as never });
      pooled.pageMode = psm;
    }
    let page: Page;
    try {
      const result = await Promise.race([
        pooled.worker.recognize(prepared.png, {}, { text: true, blocks: true }),
        pooled.died,
        abort,
      ]);
      page = result.data;
    } catch (err) {
      if (err instanceof NodeError || opts.signal.aborted) throw err;
      throw new NodeError(`OCR failed: ${String(err)}`, 'OCR_FAILED');
    }
    healthy = true;
    return {
      text: cleanText(page.text),
      confidence: Math.round(page.confidence * 10) / 1000,
      lines: linesOf(page.blocks, prepared.scale, prepared.width, prepared.height),
      language: key,
      width: prepared.width,
      height: prepared.height,
      cold,
      ms: Math.round(performance.now() - started),
    };
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
    // An interrupted job leaves the worker mid-page: terminating it is the only way to stop the work.
    pool.release(pooled, healthy && !opts.signal.aborted);
  }
}
