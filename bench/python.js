// Finds a Python interpreter that can import torch (the pyenv python3 on PATH may lack
// Debian's python3-torch, which lives under /usr/bin/python3).
'use strict';
const { spawnSync } = require('node:child_process');

function findPython(explicit) {
  const candidates = explicit ? [explicit] : ['python3', '/usr/bin/python3'];
  const hasTorch = "import importlib.util, sys; sys.exit(importlib.util.find_spec('torch') is None)";
  return candidates.find((python) => spawnSync(python, ['-c', hasTorch], { env: process.env }).status === 0);
}

module.exports = { findPython };
