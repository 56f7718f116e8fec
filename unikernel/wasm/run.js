// The embedder for the unikernel wasm module under Node.js:
//   node run.js unikernel_wasm.wasm
// It provides the module's only imports (env.entropy from the Web Crypto
// API, env.output to stdout), calls run() and exits with its result.
"use strict";
const fs = require("fs");
const { webcrypto } = require("crypto");

const bytes = fs.readFileSync(process.argv[2]);
let memory = null;
const env = {
  entropy(ptr, len) {
    const view = new Uint8Array(memory.buffer, ptr >>> 0, len >>> 0);
    // getRandomValues fills at most 65536 bytes per call.
    for (let at = 0; at < view.length; at += 65536) {
      webcrypto.getRandomValues(view.subarray(at, Math.min(view.length, at + 65536)));
    }
    return 0;
  },
  output(ptr, len) {
    process.stdout.write(Buffer.from(memory.buffer, ptr >>> 0, len >>> 0));
  },
};
WebAssembly.instantiate(bytes, { env }).then(
  ({ instance }) => {
    memory = instance.exports.memory;
    process.exitCode = instance.exports.run();
  },
  (err) => {
    process.stderr.write(`instantiate: ${err}\n`);
    process.exitCode = 2;
  },
);
