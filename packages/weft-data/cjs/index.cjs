'use strict';
// `require('weft-data')`: see esm.cjs.
module.exports = require('./esm.cjs')(() => require('../dist/index.js'), 'weft-data');
