// snapshot_check.mjs -- load a .heapsnapshot written by recycle with memlab
// (@memlab/core's getSnapshotFromFile) and check what it sees.
//
//   node snapshot_check.mjs FILE NODES EDGES [NAME=COUNT ...]
//
// NODES and EDGES are the counts the writer reported; each NAME=COUNT asks
// that COUNT nodes carry that name. @memlab/core is loaded from the folder
// named by RC_MEMLAB_DIR (where `npm install @memlab/core` ran), so it need
// not sit beside this script. Exit status 0 when everything matches, 1 when
// something does not, 2 when memlab cannot be loaded.
import { createRequire } from 'node:module';
import path from 'node:path';

const [file, wantNodes, wantEdges, ...names] = process.argv.slice(2);
if (!file || wantNodes === undefined || wantEdges === undefined) {
  console.error('usage: node snapshot_check.mjs FILE NODES EDGES [NAME=COUNT ...]');
  process.exit(2);
}
const dir = process.env.RC_MEMLAB_DIR || '.';
let core;
try {
  core = createRequire(path.resolve(dir, 'package.json'))('@memlab/core');
} catch (e) {
  console.error(`snapshot_check: cannot load @memlab/core from ${path.resolve(dir)}: ${e.message}`);
  process.exit(2);
}

const snap = await core.utils.getSnapshotFromFile(file, {});
let failed = false;
function expect(what, got, want) {
  if (got !== want) {
    console.error(`snapshot_check: ${what}: memlab sees ${got}, expected ${want}`);
    failed = true;
  }
}
expect('nodes', snap.nodes.length, Number(wantNodes));
expect('edges', snap.edges.length, Number(wantEdges));

const root = snap.getNodeById(1);
expect('root node', root ? root.type : null, 'synthetic');

// Every edge leads to a node memlab knows, and edge counts add up.
let edgeSum = 0;
const byName = new Map();
snap.nodes.forEach((node) => {
  edgeSum += node.edge_count;
  byName.set(node.name, (byName.get(node.name) || 0) + 1);
});
expect('sum of edge_count', edgeSum, snap.edges.length);
for (const spec of names) {
  const eq = spec.lastIndexOf('=');
  const name = spec.slice(0, eq);
  expect(`nodes named ${JSON.stringify(name)}`, byName.get(name) || 0, Number(spec.slice(eq + 1)));
}
console.log(`memlab: ${snap.nodes.length} nodes, ${snap.edges.length} edges${failed ? ' (MISMATCH)' : ''}`);
process.exit(failed ? 1 : 0);
