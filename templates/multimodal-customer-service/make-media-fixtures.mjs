// Re-creates the two media fixtures of the customer-service template: a small PNG of a typed question (rendered
// from SVG with sharp) and a short voice message (Debian's flite, 16 kHz voice, stored as 16 kHz mu-law WAV with
// the silence trimmed by sox, which keeps it near 40 KB while pocketsphinx still understands it).
// Run: node templates/multimodal-customer-service/make-media-fixtures.mjs   (needs Debian flite and sox)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

const fixtures = new URL('./fixtures/', import.meta.url);

function write(name, input) {
  writeFileSync(new URL(`${name}.json`, fixtures), `${JSON.stringify(input, null, 2)}\n`);
}

// A serif face: tesseract reads a sans-serif capital I as "|".
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="520" height="110">
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="18" y="46" font-family="DejaVu Serif, serif" font-size="24" fill="#111">How can I change the PIN</text>
<text x="18" y="84" font-family="DejaVu Serif, serif" font-size="24" fill="#111">of my debit card?</text>
</svg>`;
const png = await sharp(Buffer.from(svg))
  .greyscale()
  .png({ compressionLevel: 9, palette: true, colors: 4 })
  .toBuffer();
write('image-question-en', {
  channel: 'app',
  customerId: 'cust-318840',
  attachments: [
    { kind: 'image', name: 'question.png', data: `data:image/png;base64,${png.toString('base64')}` },
  ],
});

const dir = mkdtempSync(join(tmpdir(), 'finflow-voice-'));
try {
  const raw = join(dir, 'raw.wav');
  const wav = join(dir, 'voice.wav');
  // kal16 is flite's 16 kHz diphone voice; its 8 kHz voices are too narrow-band for pocketsphinx.
  execFileSync('flite', ['-voice', 'kal16', '-t', 'I lost my card. Please block it.', '-o', raw]);
  // -D: no dither, so the output is the same on every run.
  execFileSync('sox', [
    '-D',
    raw,
    '-e',
    'u-law',
    wav,
    'silence',
    '1',
    '0.05',
    '0.5%',
    'reverse',
    'silence',
    '1',
    '0.05',
    '0.5%',
    'reverse',
  ]);
  write('voice-lost-card-en', {
    channel: 'phone',
    customerId: 'cust-492077',
    attachments: [
      {
        kind: 'audio',
        name: 'voice-message.wav',
        data: `data:audio/wav;base64,${readFileSync(wav).toString('base64')}`,
      },
    ],
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log('fixtures/image-question-en.json and fixtures/voice-lost-card-en.json written');
