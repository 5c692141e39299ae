// isolated-vm 5 for warden on Node 20: isolated-vm 6 and 7 ship prebuilt binaries for Node 22 and
// 24 only, and 5 has none in its package, so on Node 20 it is compiled from source when npm
// installs it. This wrapper exists for its package.json: the engines field there makes npm skip it
// (and its compile) on every other Node line. isolate/ivm.ts loads it; nothing else should.
"use strict";

module.exports = { ivm: require("isolated-vm"), version: require("isolated-vm/package.json").version };
