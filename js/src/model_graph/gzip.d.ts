// `import packed from 'file?gzip'`: the file gzipped, in base64 (js/build.mjs).
declare module '*?gzip' {
  const base64: string;
  export default base64;
}
