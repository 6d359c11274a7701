// Vite build of the editor. Workspace packages resolve to their TypeScript sources (the `source` condition), so
// the editor builds without `tsc -b`; in dev, API and socket traffic go to a running FinFlow server.
import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

const server = process.env['FINFLOW_SERVER'] ?? 'http://127.0.0.1:3000';

export default defineConfig({
  plugins: [react()],
  base: './',
  resolve: { conditions: ['source', ...defaultClientConditions] },
  build: {
    outDir: 'dist',
    target: 'es2022',
    chunkSizeWarningLimit: 8_000,
    sourcemap: false,
  },
  worker: { format: 'es' },
  server: {
    proxy: {
      '/api': server,
      '/v1': server,
      '/healthz': server,
      '/socket.io': { target: server, ws: true },
    },
  },
});
