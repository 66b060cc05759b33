import { defineConfig } from "vite";

// dist/auth-end.js: one self-contained classic script with a fixed name, no hash.
export default defineConfig({
  base: "/tab/",
  publicDir: false,
  build: {
    outDir: "dist",
    emptyOutDir: false,
    target: "es2020",
    lib: {
      entry: "src/auth-end.ts",
      name: "presenceSyncAuthEnd",
      formats: ["iife"],
      fileName: () => "auth-end.js",
    },
  },
});
