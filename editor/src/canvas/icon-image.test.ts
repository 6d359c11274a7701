import { ArrowRightLeft, ShieldCheck } from 'lucide-react';
import { describe, expect, it } from 'vitest';
import { iconImage } from './icon-image.js';

/** The SVG document inside a `url("data:image/svg+xml,...")` value. */
function svgOf(value: string): string {
  const m = /^url\("data:image\/svg\+xml,(.*)"\)$/.exec(value);
  if (!m?.[1]) throw new Error(`not an SVG data URL: ${value.slice(0, 60)}`);
  return decodeURIComponent(m[1]);
}

describe('node icons as background images', () => {
  it('draws the icon as a standalone white SVG at the node icon size', () => {
    const svg = svgOf(iconImage(ArrowRightLeft));
    // Without the namespace a browser will not draw an SVG image at all.
    expect(svg).toMatch(/^<svg[^>]* xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).toContain('width="14"');
    expect(svg).toContain('stroke="#fff"');
    expect(svg).toMatch(/<path d="M/);
    // A `"` left in the markup would end the CSS url() early.
    expect(iconImage(ArrowRightLeft).slice(5, -2)).not.toContain('"');
  });

  it('draws each icon once and tells icons apart', () => {
    expect(iconImage(ArrowRightLeft)).toBe(iconImage(ArrowRightLeft));
    expect(iconImage(ShieldCheck)).not.toBe(iconImage(ArrowRightLeft));
  });
});
