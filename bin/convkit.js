#!/usr/bin/env node
'use strict';
// The convkit CLI (`npx convkit --help`); the commands live in dist/app/cli/main.js.
process.exitCode = require('../dist/app/cli/main.js').run(process.argv.slice(2));
