'use strict';
// weft-data is ES modules only. Node.js ≥ 20.19 (and ≥ 22.12) can require() them, since no module of the
// package uses top-level await; an older Node.js throws ERR_REQUIRE_ESM, which this turns into a message
// that says what to do. The module required is the ES module itself, so `require` and `import` share one
// instance of every class (no dual-package hazard).

/**
 * Returns `load()` (a require of an ES module of the package), or throws an error naming `specifier` as
 * ESM-only when this Node.js cannot require ES modules.
 */
module.exports = function requireEsm(load, specifier) {
  try {
    return load();
  } catch (e) {
    if (e === null || typeof e !== 'object' || e.code !== 'ERR_REQUIRE_ESM') throw e;
    throw new Error(
      `${specifier} is ESM-only and this Node.js (${process.version}) cannot require() ES modules: ` +
        `use \`import\` (from CommonJS: \`await import('${specifier}')\`), or Node.js ≥ 20.19 or ≥ 22.12`,
      { cause: e },
    );
  }
};
