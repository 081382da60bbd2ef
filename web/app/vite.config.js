// The traveller app (/ on the gateway): Preact with esbuild's own JSX
// transform, no plugin. nginx serves index.html at / and the hashed files
// under /assets/ (nginx/site.conf.in) with a strict CSP, so nothing may be
// inlined (no data: URIs, no inline scripts or styles).
//
// Vite 6, not 8: Vite 7 and later need Node 20.19+, and a fresh Debian 12
// machine (./flightops's PACKAGES, the Dockerfile's build stage) gets
// Debian's nodejs 18.
import { defineConfig } from "vite";

export default defineConfig({
	esbuild: {
		jsx: "automatic",
		jsxImportSource: "preact",
	},
	build: {
		assetsDir: "assets",
		// CSP img-src 'self': a small file stays a file, never a data: URI.
		assetsInlineLimit: 0,
		// Every browser the app targets has modulepreload.
		modulePreload: { polyfill: false },
		sourcemap: false,
		emptyOutDir: true,
	},
});
