#!/usr/bin/env node
// Launcher: checks the runtime before loading the bundle, which needs the
// Node of package.json's engines (>= 22.19).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  console.error(`clusterwire needs Node.js >= 22.19 (24 LTS recommended); this is ${process.version}. Run it through npm (npm install brings Node 24) or install Node 24.`);
  process.exit(2);
}
await import('../dist/clusterwire.js');
