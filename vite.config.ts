import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { VitePWA } from 'vite-plugin-pwa';

/**
 * @meshtastic/core in the browser: it bundles tslog's Node runtime, which imports `os`, `path` and
 * `util` and reads `process` when its module runs. Its Node built-ins become the small stand-ins
 * below, and a `process` shim is imported ahead of everything else in the module, so it runs first
 * wherever the module loads: the page, the SharedWorker or the dedicated worker.
 */
const NODE_STANDINS: Record<string, string> = {
  os: 'export const hostname = () => "browser"; export default { hostname };',
  path: 'export const normalize = (p) => p; export default { normalize };',
  util: [
    'const show = (v) => (typeof v === "string" ? v : v instanceof Error ? (v.stack ?? String(v)) : (() => { try { return JSON.stringify(v); } catch { return String(v); } })());',
    'export const formatWithOptions = (_options, ...args) => args.map(show).join(" ");',
    'export const types = { isNativeError: (e) => e instanceof Error };',
    'export default { formatWithOptions, types };',
  ].join('\n'),
};
const PROCESS_SHIM =
  'const g = globalThis; if (typeof g.process !== "object" || g.process === null) g.process = { env: {}, version: "", versions: {}, platform: "browser", cwd: () => "/" };';
const MESHTASTIC_CORE = /[\\/]@meshtastic[\\/]core[\\/]dist[\\/]/;

function meshtasticInTheBrowser(): Plugin {
  return {
    name: 'souk-meshtastic-in-the-browser',
    enforce: 'pre',
    resolveId(source, importer) {
      if (source === 'virtual:souk-process-shim') return '\0souk-process-shim';
      if (importer && MESHTASTIC_CORE.test(importer) && source in NODE_STANDINS) return `\0souk-node-standin:${source}`;
      return null;
    },
    load(id) {
      if (id === '\0souk-process-shim') return PROCESS_SHIM;
      if (id.startsWith('\0souk-node-standin:')) return NODE_STANDINS[id.slice('\0souk-node-standin:'.length)];
      return null;
    },
    transform(code, id) {
      if (!MESHTASTIC_CORE.test(id) || !/[\\/]mod\.js$/.test(id)) return null;
      // tslog's isBuffer reads the global Buffer, which browsers do not have (and no global one is made).
      const body = code.replaceAll('Buffer.isBuffer(arg)', '(typeof Buffer !== "undefined" && Buffer.isBuffer(arg))');
      return { code: `import 'virtual:souk-process-shim';\n${body}`, map: null };
    },
  };
}

export default defineConfig({
  plugins: [
    meshtasticInTheBrowser(),
    react(),
    VitePWA({
      registerType: 'prompt',
      injectRegister: false,
      includeAssets: ['icon.svg', 'icon-192.png', 'icon-512.png'],
      manifest: {
        name: 'Souk',
        short_name: 'Souk',
        description: 'Your shop, stock and offers on your own device, shared peer to peer with the merchants around you.',
        theme_color: '#166534',
        background_color: '#fefce8',
        display: 'standalone',
        start_url: '/',
        icons: [
          { src: 'icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: 'icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: 'icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
          { src: 'icon.svg', sizes: 'any', type: 'image/svg+xml' },
        ],
      },
      workbox: {
        globPatterns: ['**/*.{js,css,html,wasm,svg,png,webmanifest}'],
        // Automerge's WebAssembly is about 3.6 MB.
        maximumFileSizeToCacheInBytes: 8 * 1024 * 1024,
        clientsClaim: true,
        skipWaiting: false,
        navigateFallbackDenylist: [/^\/signal/],
      },
    }),
  ],
  // Workers are bundled with their own plugins: the node's worker is where @meshtastic/core runs.
  worker: { format: 'es', plugins: () => [meshtasticInTheBrowser()] },
  // @meshtastic/core is served as it is in dev, so the stand-ins above apply to it.
  optimizeDeps: { exclude: ['@automerge/automerge', '@meshtastic/core'] },
  build: { target: 'es2022', sourcemap: true },
  // `npm run dev` with `npm run signaling` beside it: the dev server passes /signal on.
  server: { port: 5173, proxy: { '/signal': { target: 'ws://127.0.0.1:8080', ws: true } } },
});
