'use strict';
// Every process of a comparison runs with the same malloc settings: large buffers stay on the
// heap instead of being mmap'd and unmapped on each call (glibc's default page-faults them on
// every call and skews timings 2-3x).

const { spawnSync } = require('child_process');

const GLIBC_TUNABLES = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296';

// glibc reads the tunables at start-up only: without them, this starts the script again with
// them (children inherit the environment) and exits with its status.
function ensureTunables() {
  if (process.env.GLIBC_TUNABLES === GLIBC_TUNABLES) return;
  const rerun = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, GLIBC_TUNABLES },
  });
  if (rerun.signal) process.kill(process.pid, rerun.signal);
  process.exit(rerun.status ?? 1);
}

module.exports = { GLIBC_TUNABLES, ensureTunables };
