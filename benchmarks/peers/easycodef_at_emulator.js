// easycodef_at_emulator.js: the official Node.js client, easycodef-node, pointed at the emulator
// without changing one file of the package. Used by benchmarks/peers/easycodef_node.js and
// scripts/easycodef-node-two-way.js.
//
//   const { EasyCodef, ... } = require('./easycodef_at_emulator')({ apiUrl, oauthUrl, caFile });
//
// caFile is the only CA trusted: a TLS context made from it alone is handed to the global https
// agent, which the library's request module uses (agent options override a request's own, and
// tls.connect uses a given secureContext as it is), so Node's built-in roots are never loaded.
// The library has its hosts hard-coded (oauth.codef.io, sandbox/development/api.codef.io) as
// exports of dist/constant.js. connector.js reads OAUTH_DOMAIN and GET_TOKEN from that module on
// every token request, but properties.js copies the three API domains when it is first loaded,
// so they are replaced here, before anything else of the library is required: call this before
// any other require of easycodef-node.
'use strict';

const fs = require('node:fs');
const https = require('node:https');
const tls = require('node:tls');

module.exports = function easycodefAtEmulator({ apiUrl, oauthUrl, caFile }) {
    https.globalAgent.options.secureContext = tls.createSecureContext({ ca: fs.readFileSync(caFile) });
    const constant = require('easycodef-node/dist/constant');
    const oauth = new URL(oauthUrl);
    constant.OAUTH_DOMAIN = oauth.origin;
    constant.GET_TOKEN = oauth.pathname;
    const apiOrigin = apiUrl.replace(/\/+$/, '');
    constant.SANDBOX_DOMAIN = apiOrigin;
    constant.DEMO_DOMAIN = apiOrigin;
    constant.API_DOMAIN = apiOrigin;
    return require('easycodef-node');
};
