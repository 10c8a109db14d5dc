/*
 * jobrt-client - a producer client for jobrt (docs/protocol.md, "jobrt
 * wire format v1") over ioredis. See README.md.
 */
'use strict';

const { Client } = require('./lib/client');

module.exports = { Client };
