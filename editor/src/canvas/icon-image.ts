/**
 * Node icons as CSS background images. An inline SVG per node is an element subtree with its own viewBox transform
 * and clip, which the browser re-layerizes on every pan frame; drawn once per icon as a data URL, 500 nodes share
 * one decoded image and add no elements (measured with bench/editor.bench.mjs, see bench/README.md "Editor").
 */
import type { LucideIcon } from 'lucide-react';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';

const cache = new Map<LucideIcon, string>();

/** A `background-image` value drawing `icon` in white at `size` px. */
export function iconImage(icon: LucideIcon, size = 14): string {
  let url = cache.get(icon);
  if (url === undefined) {
    const markup = renderToStaticMarkup(createElement(icon, { size, color: '#fff', 'aria-hidden': true }));
    url = `url("data:image/svg+xml,${encodeURIComponent(markup)}")`;
    cache.set(icon, url);
  }
  return url;
}
