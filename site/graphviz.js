// The layout engine of the diagram widget: Graphviz compiled to WebAssembly (@viz-js/viz), bundled by
// esbuild into one ES module with the wasm inlined, so the browser fetches nothing to use it.
// `make bundle` writes it to k8snetviz/widgets/static/graphviz.js (committed; the site layer checks that
// a fresh bundle is the same file).
export { graphvizVersion, instance } from "@viz-js/viz";
