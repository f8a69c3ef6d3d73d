import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { VitePWA } from 'vite-plugin-pwa';

export default defineConfig({
  plugins: [
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
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['@automerge/automerge'] },
  build: { target: 'es2022', sourcemap: true },
  // `npm run dev` with `npm run signaling` beside it: the dev server passes /signal on.
  server: { port: 5173, proxy: { '/signal': { target: 'ws://127.0.0.1:8080', ws: true } } },
});
