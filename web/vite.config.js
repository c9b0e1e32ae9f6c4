// Two pages built into web/dist: /admin/ (the back-office) and /h5/ (the shop).
// Served by the Flask app (miniprogram_api/web.py); no CDN, everything is bundled.
import { resolve } from 'node:path'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

export default defineConfig({
  plugins: [vue()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    rollupOptions: {
      input: {
        admin: resolve(import.meta.dirname, 'admin/index.html'),
        h5: resolve(import.meta.dirname, 'h5/index.html'),
      },
    },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:5080' } },
})
