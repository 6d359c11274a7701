import { ArrowRightLeft, ShieldCheck, Sigma } from 'lucide-react';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { iconImage } from './icon-image.js';

/** The SVG document inside a `url("data:image/svg+xml,...")` value. */
function svgOf(value: string): string {
  const m = /^url\("data:image\/svg\+xml,(.*)"\)$/.exec(value);
  if (!m?.[1]) throw new Error(`not an SVG data URL: ${value.slice(0, 60)}`);
  return decodeURIComponent(m[1]);
}

/** The drawing elements of an SVG (everything inside the root). */
const shapes = (svg: string) =>
  (svg.match(/<(path|circle|rect|line|polyline|polygon|ellipse)\b[^>]*\/?>/g) ?? []).map((s) =>
    s.replace(/\s*\/?>(<\/\w+>)?$/, ''),
  );

describe('node icons as background images', () => {
  it.each([
    ['ArrowRightLeft', ArrowRightLeft],
    ['ShieldCheck', ShieldCheck],
    ['Sigma', Sigma],
  ])('draws %s as the same shapes lucide-react renders, white, at the node icon size', (_, icon) => {
    const svg = svgOf(iconImage(icon));
    // Without the namespace a browser will not draw an SVG image at all.
    expect(svg).toMatch(
      /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="14" height="14" viewBox="0 0 24 24"/,
    );
    expect(svg).toContain('stroke="#fff"');
    const rendered = renderToStaticMarkup(createElement(icon, { size: 14, color: '#fff' }));
    expect(shapes(rendered).length).toBeGreaterThan(0);
    expect(shapes(svg)).toEqual(shapes(rendered));
    // A `"` left in the value would end the CSS url() early.
    expect(iconImage(icon).slice(5, -2)).not.toContain('"');
  });

  it('draws each icon once and tells icons apart', () => {
    expect(iconImage(ArrowRightLeft)).toBe(iconImage(ArrowRightLeft));
    expect(iconImage(ShieldCheck)).not.toBe(iconImage(ArrowRightLeft));
  });
});
