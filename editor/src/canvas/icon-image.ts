/**
 * Node icons as CSS background images. An inline SVG per node is an element subtree with its own viewBox transform
 * and clip, which the browser re-layerizes on every pan frame; drawn once per icon as a data URL, 500 nodes share
 * one decoded image and add no elements (measured with bench/editor.bench.mjs, see bench/README.md "Editor").
 * The SVG is written from the icon's own shape list rather than with react-dom/server, which would add 200 kB to
 * the editor's main bundle.
 */
import type { LucideIcon } from 'lucide-react';

type Shape = [tag: string, attributes: Record<string, string | number>];

/**
 * The shapes of a lucide-react icon. Each icon is a forwardRef component whose render only returns
 * `<Icon icon={{ node: shapes }} />`; calling it gives the shapes without rendering anything.
 */
function shapesOf(icon: LucideIcon): readonly Shape[] {
  const render = (icon as unknown as { render?: (props: object, ref: null) => unknown }).render;
  const element = render?.({}, null) as { props?: { icon?: { node?: unknown } } } | undefined;
  const node = element?.props?.icon?.node;
  return Array.isArray(node) ? (node as Shape[]) : [];
}

const escape = (v: string | number) =>
  String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A standalone SVG document of `icon`, stroked in `color`, `size` px square (lucide's own drawing attributes). */
export function iconSvg(icon: LucideIcon, size: number, color: string): string {
  const shapes = shapesOf(icon)
    .map(([tag, attrs]) => {
      const a = Object.entries(attrs)
        .filter(([k]) => k !== 'key')
        .map(([k, v]) => ` ${k}="${escape(v)}"`)
        .join('');
      return `<${tag}${a}/>`;
    })
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 24 24" fill="none" ` +
    `stroke="${escape(color)}" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${shapes}</svg>`
  );
}

const cache = new Map<LucideIcon, string>();

/** A `background-image` value drawing `icon` in white at `size` px (node icons are 14 px on a coloured square). */
export function iconImage(icon: LucideIcon, size = 14): string {
  let url = cache.get(icon);
  if (url === undefined) {
    url = `url("data:image/svg+xml,${encodeURIComponent(iconSvg(icon, size, '#fff'))}")`;
    cache.set(icon, url);
  }
  return url;
}
