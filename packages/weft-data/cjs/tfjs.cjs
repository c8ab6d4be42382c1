'use strict';
// `require('weft-data/tfjs')`: see esm.cjs.
module.exports = require('./esm.cjs')(() => require('../dist/tfjs/index.js'), 'weft-data/tfjs');
